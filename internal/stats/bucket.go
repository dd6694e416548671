package stats

import (
	"math"
	"sync/atomic"
)

// Sparse histogram entries of ring buckets: 16 bits each, two to a 32-bit
// word, index+1 in the top 6 bits (0 means the entry is unused) and the
// count in the low entryCountBits bits. An entry stops counting at
// entryLimit; later samples of its index go to the dense histogram, so a
// bucket counts sparsely the seconds of up to about a thousand requests
// per latency bucket, and a busier second, whose series is busy enough to
// use it, allocates its dense histogram.
const (
	nSparse        = 8 // entries per bucket
	entryBits      = 16
	entryMask      = 1<<entryBits - 1
	entryCountBits = 10
	entryCountMask = 1<<entryCountBits - 1
	entryLimit     = entryCountMask
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

// bucket counts one second of the fine ring in 48 bytes: the second's
// stamp, request and error counts, latency range and latency histogram,
// kept sparse while it can be.
//
// The histogram starts in nSparse 16-bit entries of (index, count). A
// sample whose index has no entry and finds none free — the second's
// latencies spread over more than nSparse histogram buckets — or whose
// entry is full goes to dense, a full [nHist]uint32 array (192 bytes)
// allocated then. Once dense exists every sample goes there; it is kept,
// zeroed, when the bucket rotates, so a bucket allocates it at most once.
// A query adds up both parts.
type bucket struct {
	stamp  atomic.Int64  // the counted second, Unix seconds
	tally  atomic.Uint64 // requests | errors<<32
	span   atomic.Uint64 // latency range, see spanEmpty
	sparse [nSparse * entryBits / 32]atomic.Uint32
	dense  atomic.Pointer[denseHist]
}

// denseHist is a full latency histogram. Counters are 32-bit: overflowing
// one would take 4.3e9 samples in a single latency bucket within a second.
type denseHist [nHist]atomic.Uint32

// addHist counts one sample in histogram bucket idx: in the dense histogram
// if the bucket has one, else in idx's sparse entry, claiming the first
// free entry if idx has none yet. Entries are claimed in order, so an index
// never has two. With no entry to use, it allocates the dense histogram
// (once per bucket: it survives rotation).
func (b *bucket) addHist(idx int) {
	if d := b.dense.Load(); d != nil {
		d[idx].Add(1)
		return
	}
	if !b.addSparse(uint32(idx+1) << entryCountBits) {
		d := b.dense.Load()
		if d == nil {
			d = new(denseHist)
			if !b.dense.CompareAndSwap(nil, d) {
				d = b.dense.Load()
			}
		}
		d[idx].Add(1)
	}
}

// addSparse counts one sample in the entry tagged tag, claiming a free one
// if none is, and reports whether it could.
func (b *bucket) addSparse(tag uint32) bool {
	for i := range nSparse {
		p, shift := &b.sparse[i/2], uint(i%2)*entryBits
		for {
			v := p.Load()
			e := v >> shift & entryMask
			if e == 0 {
				if p.CompareAndSwap(v, v|(tag|1)<<shift) {
					return true
				}
				continue // the word changed: look at the entry again
			}
			if e&^entryCountMask != tag {
				break // another index's: try the next entry
			}
			if e&entryCountMask >= entryLimit {
				return false
			}
			if p.CompareAndSwap(v, v+1<<shift) {
				return true
			}
		}
	}
	return false
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
	var sp [len(bucket{}.sparse)]uint32
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
	for _, w := range sp {
		if w == 0 {
			break // entries are claimed in order: the rest are free too
		}
		a.addEntry(w & entryMask)
		a.addEntry(w >> entryBits)
	}
	if d != nil {
		for i, c := range h {
			a.hist[i] += uint64(c)
		}
	}
}

// addEntry adds a ring bucket's sparse entry e to a.
func (a *agg) addEntry(e uint32) {
	if i := int(e>>entryCountBits) - 1; uint(i) < nHist {
		a.hist[i] += uint64(e & entryCountMask)
	}
}
