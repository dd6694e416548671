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

// Sparse histogram entries. An entry packs a histogram index and a count
// into 32 bits: index+1 in the top 6 bits (0 means the entry is unused) and
// the count in the low sparseCountBits bits. A bucket's entry stops
// counting at sparseLimit, far below the 2^26 that would carry into the
// index; later samples of that index go to the dense histogram. Sealed
// records split larger counts over several entries of the same index.
const (
	nSparse         = 8
	sparseCountBits = 26
	sparseCountMask = 1<<sparseCountBits - 1
	sparseLimit     = 1 << 25
)

// tally packs a bucket's request count (low 32 bits) and error count (high
// 32 bits), so that one atomic add counts both. Overflowing the request
// count would take 4.3e9 requests of one series in one second.
const errorUnit = 1 << 32

// A latency range is two float32s in one uint64: the lower bound's bits in
// the low half, the upper bound's in the high half. For non-negative
// floats the bits order like the values, so bounds compare as integers.
// The lower bound is rounded down and the upper one up to a float32: a
// range is at most 6e-8 (relative) wider than the latencies seen, and exact
// for whole nanoseconds below 2^24 (16.7 ms) and for whole microseconds
// and milliseconds in ordinary ranges.
const (
	infBits   = 0x7f800000 // float32 +Inf
	spanEmpty = infBits    // [+Inf, 0]: no latency seen
	spanMaxNs = 1 << 40    // latencies are clamped to ~18 minutes for the range (quantiles stop at 60 s)
)

// bucket counts one second of the fine ring in 64 bytes: the second's
// stamp, request and error counts, latency range and latency histogram,
// kept sparse while it can be.
//
// The histogram starts in nSparse entries of (index, count). A sample
// whose index has no entry and finds none free — the second's latencies
// spread over more than nSparse histogram buckets — goes to dense, a full
// [nHist]uint32 array (192 bytes) allocated then. Once dense exists every
// sample goes there; it is kept, zeroed, when the bucket rotates, so a
// bucket allocates it at most once. A query adds up both parts.
type bucket struct {
	stamp  atomic.Int64  // the counted second, Unix seconds
	tally  atomic.Uint64 // requests | errors<<32
	span   atomic.Uint64 // latency range, see spanEmpty
	sparse [nSparse]atomic.Uint32
	dense  atomic.Pointer[denseHist]
}

// denseHist is a full latency histogram. Counters are 32-bit: overflowing
// one would take 4.3e9 samples in a single latency bucket within a second.
type denseHist [nHist]atomic.Uint32

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

// addHist counts one sample in histogram bucket idx: in the dense histogram
// if the bucket has one, else in idx's sparse entry, claiming a free entry
// if idx has none yet. With no entry to use, it allocates the dense
// histogram (once per bucket: it survives rotation).
func (b *bucket) addHist(idx int) {
	if d := b.dense.Load(); d != nil {
		d[idx].Add(1)
		return
	}
	tag := uint32(idx+1) << sparseCountBits
	for i := range b.sparse {
		p := &b.sparse[i]
		v := p.Load()
		for v == 0 {
			if p.CompareAndSwap(0, tag|1) {
				return
			}
			v = p.Load()
		}
		if v&^sparseCountMask != tag {
			continue
		}
		if v&sparseCountMask < sparseLimit {
			p.Add(1)
			return
		}
		break
	}
	d := b.dense.Load()
	if d == nil {
		d = new(denseHist)
		if !b.dense.CompareAndSwap(nil, d) {
			d = b.dense.Load()
		}
	}
	d[idx].Add(1)
}

// widen extends the bucket's latency range to ns.
func (b *bucket) widen(ns int64) {
	down, up := spanBits(ns)
	for {
		v := b.span.Load()
		lo, hi := uint32(v), uint32(v>>32)
		if down >= lo && up <= hi {
			return
		}
		if b.span.CompareAndSwap(v, uint64(min(lo, down))|uint64(max(hi, up))<<32) {
			return
		}
	}
}

// spanBits returns the bits of the largest float32 ≤ ns and of the
// smallest float32 ≥ ns, for ns ≥ 0 (clamped to spanMaxNs).
func spanBits(ns int64) (down, up uint32) {
	ns = min(ns, spanMaxNs)
	f := float32(ns)
	b := math.Float32bits(f)
	switch n := int64(f); {
	case n > ns:
		return b - 1, b // the next float32 below a positive one
	case n < ns:
		return b, b + 1
	}
	return b, b
}

// spanNs converts a range bound back to nanoseconds.
func spanNs(bits uint32) int64 {
	if bits >= infBits {
		return math.MaxInt64
	}
	return int64(math.Float32frombits(bits))
}

// mergeInto adds the bucket to a if it counts second sec. The counters are
// copied first and kept only if the stamp did not change meanwhile.
func (b *bucket) mergeInto(a *agg, sec int64) {
	if b.stamp.Load() != sec {
		return
	}
	t := b.tally.Load()
	n := int64(t & (errorUnit - 1))
	if n == 0 {
		return
	}
	span := b.span.Load()
	var sp [nSparse]uint32
	for i := range sp {
		sp[i] = b.sparse[i].Load()
	}
	var h [nHist]uint32
	d := b.dense.Load()
	if d != nil {
		for i := range h {
			h[i] = d[i].Load()
		}
	}
	if b.stamp.Load() != sec {
		return
	}
	a.requests += n
	a.errors += int64(t / errorUnit)
	a.min, a.max = min(a.min, spanNs(uint32(span))), max(a.max, spanNs(uint32(span>>32)))
	addSparse(a, sp[:])
	if d != nil {
		for i, c := range h {
			a.hist[i] += uint64(c)
		}
	}
}

// addSparse adds sparse histogram entries to a.
func addSparse(a *agg, entries []uint32) {
	for _, v := range entries {
		if i := int(v>>sparseCountBits) - 1; i >= 0 && i < nHist {
			a.hist[i] += uint64(v & sparseCountMask)
		}
	}
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
