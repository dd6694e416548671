package stats

import (
	"math"
	"runtime"
	"sync/atomic"
	"time"
)

// Ring geometry. Resolutions are in seconds.
const (
	fineSlots   = 120
	fineRes     = 1
	coarseSlots = 90
	coarseRes   = 10

	// stampEmpty marks a bucket that never counted anything; stampRotating
	// marks one being zeroed by a Record that is moving it to a new interval.
	// Both sort below every real stamp.
	stampEmpty    = math.MinInt64
	stampRotating = math.MinInt64 + 1
)

// bucket counts one interval of a ring: 5×8 + 48×4 = 232 bytes.
// Histogram counters are 32-bit: overflowing one would take 4.3e9 samples
// in a single latency bucket within 10 seconds.
type bucket struct {
	stamp  atomic.Int64 // start of the counted interval, Unix seconds
	count  atomic.Int64
	errors atomic.Int64
	minNs  atomic.Int64 // math.MaxInt64 when empty
	maxNs  atomic.Int64 // 0 when empty
	hist   [nHist]atomic.Uint32
}

// Series is the counters of one Key: a ring of 120 one-second buckets and a
// ring of 90 ten-second buckets, 48,720 bytes in all. It is created by
// Registry.Record and never shrinks or grows.
type Series struct {
	key    Key
	born   int64 // Unix nanoseconds of the first Record
	fine   [fineSlots]bucket
	coarse [coarseSlots]bucket
}

func newSeries(k Key, born int64) *Series {
	s := &Series{key: k, born: born}
	for i := range s.fine {
		s.fine[i].stamp.Store(stampEmpty)
	}
	for i := range s.coarse {
		s.coarse[i].stamp.Store(stampEmpty)
	}
	return s
}

// Key returns the key the series counts.
func (s *Series) Key() Key { return s.key }

// record adds one outcome observed at Unix time ns to both rings.
func (s *Series) record(ns int64, failed bool, latency time.Duration) {
	lat := max(int64(latency), 0)
	idx := histIndex(lat)
	sec := floorDiv(ns, 1e9)
	s.fine[mod(sec, fineSlots)].add(sec, failed, idx, lat)
	c := floorDiv(sec, coarseRes)
	s.coarse[mod(c, coarseSlots)].add(c*coarseRes, failed, idx, lat)
}

// add counts one outcome in the interval starting at start, rotating the
// bucket first if it still holds an older interval.
func (b *bucket) add(start int64, failed bool, idx int, lat int64) {
	if b.stamp.Load() != start && !b.claim(start) {
		return
	}
	b.hist[idx].Add(1)
	for cur := b.minNs.Load(); lat < cur && !b.minNs.CompareAndSwap(cur, lat); cur = b.minNs.Load() {
	}
	for cur := b.maxNs.Load(); lat > cur && !b.maxNs.CompareAndSwap(cur, lat); cur = b.maxNs.Load() {
	}
	if failed {
		b.errors.Add(1)
	}
	b.count.Add(1)
}

// claim makes the bucket count the interval starting at start. It returns
// false when the bucket already counts a newer interval (the sample is too
// old for the ring and is dropped). Exactly one caller zeroes the bucket;
// concurrent callers for the same interval spin until it is done, so no
// sample of the new interval is wiped by the reset.
func (b *bucket) claim(start int64) bool {
	for {
		st := b.stamp.Load()
		switch {
		case st == start:
			return true
		case st == stampRotating:
			runtime.Gosched()
		case st > start:
			return false
		case b.stamp.CompareAndSwap(st, stampRotating):
			b.count.Store(0)
			b.errors.Store(0)
			b.minNs.Store(math.MaxInt64)
			b.maxNs.Store(0)
			for i := range b.hist {
				b.hist[i].Store(0)
			}
			b.stamp.Store(start)
			return true
		}
	}
}

// mergeInto adds the bucket to a if it counts the interval starting at start.
// The counters are copied first and kept only if the stamp did not change
// meanwhile.
func (b *bucket) mergeInto(a *agg, start int64) {
	if b.stamp.Load() != start {
		return
	}
	n := b.count.Load()
	if n == 0 {
		return
	}
	e, mn, mx := b.errors.Load(), b.minNs.Load(), b.maxNs.Load()
	var h [nHist]uint32
	for i := range h {
		h[i] = b.hist[i].Load()
	}
	if b.stamp.Load() != start {
		return
	}
	a.requests += n
	a.errors += e
	a.min, a.max = min(a.min, mn), max(a.max, mx)
	for i, c := range h {
		a.hist[i] += uint64(c)
	}
}

// plan is a run of bucket starts, in Unix seconds, of one ring.
type plan struct {
	coarse   bool
	from, to int64 // first and last bucket start, inclusive; empty if from > to
}

// planWindow chooses the ring and the buckets for [lo, now] (Unix
// nanoseconds): the buckets that start at or after lo up to the one holding
// now. The fine ring is used when it reaches back to lo; otherwise the coarse
// ring, clamped to its 15 minutes.
func planWindow(lo, now int64) plan {
	if from, to := ceilDiv(lo, 1e9), floorDiv(now, 1e9); from >= to-(fineSlots-1)*fineRes {
		return plan{from: from, to: to}
	}
	const res = coarseRes * 1e9
	from, to := ceilDiv(lo, res)*coarseRes, floorDiv(now, res)*coarseRes
	return plan{coarse: true, from: max(from, to-(coarseSlots-1)*coarseRes), to: to}
}

// mergeInto adds the series' buckets in [from, to] (bucket starts, Unix
// seconds, within p's ring) to a.
func (s *Series) mergeInto(a *agg, p plan, from, to int64) {
	if p.coarse {
		for t := from; t <= to; t += coarseRes {
			s.coarse[mod(t/coarseRes, coarseSlots)].mergeInto(a, t)
		}
		return
	}
	for t := from; t <= to; t++ {
		s.fine[mod(t, fineSlots)].mergeInto(a, t)
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func ceilDiv(a, b int64) int64 { return -floorDiv(-a, b) }

func mod(a, n int64) int64 {
	m := a % n
	if m < 0 {
		m += n
	}
	return m
}
