package stats

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Ring geometry. Resolutions are in seconds.
const (
	fineSlots   = 120
	fineRes     = 1
	coarseSlots = 90
	coarseRes   = 10

	// chunkSlots is how many fine buckets are allocated at a time: the fine
	// ring is a table of chunk pointers, each chunk allocated by the first
	// Record that lands in it.
	chunkSlots = 6

	// stampEmpty marks a bucket that never counted anything (and a sealed
	// slot that holds nothing); stampRotating marks a bucket being zeroed by
	// the Record that is moving it to a new second. Both sort below every
	// real stamp.
	stampEmpty    = math.MinInt64
	stampRotating = math.MinInt64 + 1
)

// chunk is chunkSlots consecutive buckets of the fine ring.
type chunk [chunkSlots]bucket

func newChunk() *chunk {
	c := new(chunk)
	for i := range c {
		c[i].stamp.Store(stampEmpty)
		c[i].span.Store(spanEmpty)
	}
	return c
}

// Series is the counters of one Key: a ring of 120 one-second buckets,
// allocated in chunks as seconds get traffic, and the sealed ten-second
// records of the last 15 minutes, written as seconds leave the ring. See
// the package documentation for the sizes. It is created by
// Registry.Record.
type Series struct {
	key  Key
	born atomic.Int64 // Unix nanoseconds of the earliest Record
	// mu serialises bucket rotations and, with them, sealing: Record takes
	// it only to move a bucket to a new second.
	mu     sync.Mutex
	fine   [fineSlots / chunkSlots]atomic.Pointer[chunk]
	sealed atomic.Pointer[sealStore] // nil until a second first leaves the ring
}

func newSeries(k Key, born int64) *Series {
	s := &Series{key: k}
	s.born.Store(born)
	return s
}

// Key returns the key the series counts.
func (s *Series) Key() Key { return s.key }

// record adds one outcome observed at Unix time ns.
func (s *Series) record(ns int64, failed bool, latency time.Duration) {
	lat := max(int64(latency), 0)
	tally := uint64(1)
	if failed {
		tally += errorUnit
	}
	// A Record that read the clock before the one that created the series
	// can land after it.
	for born := s.born.Load(); ns < born && !s.born.CompareAndSwap(born, ns); born = s.born.Load() {
	}
	sec := floorDiv(ns, 1e9)
	b := s.grow(mod(sec, fineSlots))
	if b.stamp.Load() != sec && !s.rotate(b, sec) {
		return
	}
	b.addHist(histIndex(lat))
	b.widen(lat)
	b.tally.Add(tally)
}

// grow returns fine bucket i, allocating its chunk if no Record has yet.
func (s *Series) grow(i int64) *bucket {
	p := &s.fine[i/chunkSlots]
	c := p.Load()
	if c == nil {
		c = newChunk()
		if !p.CompareAndSwap(nil, c) {
			c = p.Load()
		}
	}
	return &c[i%chunkSlots]
}

// peek returns fine bucket i, or nil if its chunk was never allocated.
func (s *Series) peek(i int64) *bucket {
	if c := s.fine[i/chunkSlots].Load(); c != nil {
		return &c[i%chunkSlots]
	}
	return nil
}

// rotate makes b count second sec. It returns false when b already counts
// a later second (the sample is too old for the ring and is dropped). The
// second b held leaves the ring: its ten-second interval is sealed first,
// unless that is done already, so no query ever finds the interval in
// neither place. Concurrent Records for sec wait on s.mu until b is zeroed,
// so no sample of the new second is wiped by the reset.
func (s *Series) rotate(b *bucket, sec int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := b.stamp.Load()
	if old >= sec {
		return old == sec
	}
	if old > stampRotating {
		s.seal(floorDiv(old, coarseRes)*coarseRes, sec)
	}
	b.stamp.Store(stampRotating)
	b.tally.Store(0)
	b.span.Store(spanEmpty)
	for i := range b.sparse {
		b.sparse[i].Store(0)
	}
	if d := b.dense.Load(); d != nil {
		for i := range d {
			d[i].Store(0)
		}
	}
	b.stamp.Store(sec)
	return true
}

// fineRun calls f for each allocated fine bucket of seconds [from, to]
// with its second, a chunk at a time.
func (s *Series) fineRun(from, to int64, f func(b *bucket, sec int64)) {
	for t := max(from, floorDiv(s.born.Load(), 1e9)); t <= to; {
		i := mod(t, fineSlots)
		j := i % chunkSlots
		n := min(to-t+1, chunkSlots-j) // seconds left in this chunk
		if c := s.fine[i/chunkSlots].Load(); c != nil {
			for k := range n {
				f(&c[j+k], t+k)
			}
		}
		t += n
	}
}

// mergeFine adds the fine buckets of seconds [from, to] to a.
func (s *Series) mergeFine(a *agg, from, to int64) {
	s.fineRun(from, to, func(b *bucket, sec int64) { b.mergeInto(a, sec) })
}

// hasFine reports whether a fine bucket of seconds [from, to] holds its
// second.
func (s *Series) hasFine(from, to int64) bool {
	for t := from; t <= to; {
		i := mod(t, fineSlots)
		j := i % chunkSlots
		n := min(to-t+1, chunkSlots-j)
		if c := s.fine[i/chunkSlots].Load(); c != nil {
			for k := range n {
				if c[j+k].stamp.Load() == t+k {
					return true
				}
			}
		}
		t += n
	}
	return false
}

// mergeInterval adds the ten-second interval starting at start to a: its
// sealed record if it has one, else its seconds in the fine ring. A second
// can leave the ring while they are read, but only after the interval was
// sealed, so the sealed record is looked for again afterwards.
func (s *Series) mergeInterval(a *agg, start int64) {
	end := start + coarseRes - 1
	if end < floorDiv(s.born.Load(), 1e9) {
		return // before the series' earliest record
	}
	if s.mergeSealed(a, start) {
		return
	}
	if !s.hasFine(start, end) {
		s.mergeSealed(a, start)
		return
	}
	f := newAgg()
	s.mergeFine(&f, start, end)
	if s.mergeSealed(a, start) || f.requests == 0 {
		return
	}
	a.add(&f)
}

// plan is a run of bucket starts, in Unix seconds, of one resolution.
type plan struct {
	coarse   bool
	from, to int64 // first and last bucket start, inclusive; empty if from > to
}

// planWindow chooses the resolution and the buckets for [lo, now] (Unix
// nanoseconds): the buckets that start at or after lo up to the one holding
// now. Seconds are used when the fine ring reaches back to lo; otherwise
// ten-second intervals, clamped to 15 minutes.
func planWindow(lo, now int64) plan {
	if from, to := ceilDiv(lo, 1e9), floorDiv(now, 1e9); from >= to-(fineSlots-1)*fineRes {
		return plan{from: from, to: to}
	}
	const res = coarseRes * 1e9
	from, to := ceilDiv(lo, res)*coarseRes, floorDiv(now, res)*coarseRes
	return plan{coarse: true, from: max(from, to-(coarseSlots-1)*coarseRes), to: to}
}

// mergeInto adds the series' buckets in [from, to] (bucket starts, Unix
// seconds, at p's resolution) to a.
func (s *Series) mergeInto(a *agg, p plan, from, to int64) {
	if p.coarse {
		for t := from; t <= to; t += coarseRes {
			s.mergeInterval(a, t)
		}
		return
	}
	s.mergeFine(a, from, to)
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
