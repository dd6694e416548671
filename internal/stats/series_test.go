package stats

import (
	"math"
	"math/rand/v2"

	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
)

// model is a reference for the registry: every outcome kept per second, no
// rings, no sealing. Queries over a plan add up the seconds the plan
// covers, which is what the registry must answer when nothing races.
type model struct {
	secs map[Key]map[int64]*agg
	born map[Key]int64
}

func newModel() *model { return &model{secs: map[Key]map[int64]*agg{}, born: map[Key]int64{}} }

func (m *model) record(k Key, now time.Time, failed bool, lat time.Duration) {
	ns := now.UnixNano()
	sec := floorDiv(ns, 1e9)
	if m.secs[k] == nil {
		m.secs[k] = map[int64]*agg{}
		m.born[k] = ns
	}
	a := m.secs[k][sec]
	if a == nil {
		x := newAgg()
		a = &x
		m.secs[k][sec] = a
	}
	l := max(int64(lat), 0)
	a.requests++
	if failed {
		a.errors++
	}
	a.min, a.max = min(a.min, l), max(a.max, l)
	a.hist[histIndex(l)]++
}

// sum adds k's seconds [from, to] to a.
func (m *model) sum(a *agg, k Key, from, to int64) {
	for sec, x := range m.secs[k] {
		if sec >= from && sec <= to {
			a.add(x)
		}
	}
}

func (m *model) window(keys []Key, now time.Time, window time.Duration, since time.Time) Summary {
	if len(keys) == 0 || window <= 0 {
		return Summary{}
	}
	nowNs := now.UnixNano()
	lo := nowNs - int64(window)
	if !since.IsZero() {
		lo = max(lo, since.UnixNano())
	}
	if lo > nowNs {
		return Summary{}
	}
	p := planWindow(lo, nowNs)
	if p.from > p.to {
		return Summary{}
	}
	to := p.to
	if p.coarse {
		to += coarseRes - 1
	}
	a := newAgg()
	born := int64(math.MaxInt64)
	for _, k := range keys {
		m.sum(&a, k, p.from, to)
		born = min(born, m.born[k])
	}
	return a.summary(time.Duration(nowNs - max(p.from*1e9, born)))
}

// sameSummary compares everything exactly but the quantiles, which may
// differ by the float32 rounding of the latency range.
func sameSummary(got, want Summary) bool {
	q := func(a, b time.Duration) bool { return math.Abs(float64(a-b)) <= 1e-6*float64(b)+1 }
	return got.Requests == want.Requests && got.Errors == want.Errors && got.ErrorRate == want.ErrorRate &&
		got.Span == want.Span && got.Rate == want.Rate && q(got.P50, want.P50) && q(got.P95, want.P95) && q(got.P99, want.P99)
}

// TestMatchesModel drives a registry and the model with the same random
// traffic for 50 minutes — bursts, idle gaps longer than both rings,
// latencies narrow and wide (sparse and dense histograms), counts large
// enough to need dense buckets and small enough to stay sparse — and
// compares windows of every length, with and without since, and History
// at both resolutions, along the way.
func TestMatchesModel(t *testing.T) {
	r, c := newTestRegistry()
	m := newModel()
	rng := rand.New(rand.NewPCG(7, 11))
	keys := []Key{kA, kB, kC}
	versions := map[string][]Key{"v1": {kA, kB}, "v2": {kC}}
	windows := []time.Duration{time.Second, 5 * time.Second, 10 * time.Second, time.Minute, 119 * time.Second,
		120 * time.Second, 121 * time.Second, 5 * time.Minute, 13 * time.Minute, 15 * time.Minute, time.Hour}
	check := func(step int) {
		t.Helper()
		now := c.Now()
		for _, w := range windows {
			for _, since := range []time.Time{{}, now.Add(-w / 3), now.Add(-w/2 - 300*time.Millisecond)} {
				for _, k := range keys {
					got, want := r.Window(k, w, since), m.window([]Key{k}, now, w, since)
					if !sameSummary(got, want) {
						t.Fatalf("step %d: Window(%v, %v, since %v)\n got %+v\nwant %+v", step, k, w, since, got, want)
					}
				}
				for v, ks := range versions {
					got, want := r.VersionWindow("shop", v, w, since), m.window(ks, now, w, since)
					if !sameSummary(got, want) {
						t.Fatalf("step %d: VersionWindow(%s, %v, since %v)\n got %+v\nwant %+v", step, v, w, since, got, want)
					}
				}
			}
		}
		for _, h := range []struct{ span, step time.Duration }{{2 * time.Minute, time.Second}, {15 * time.Minute, 10 * time.Second}, {15 * time.Minute, 30 * time.Second}} {
			pts := r.History("shop", "v1", h.span, h.step)
			for _, p := range pts {
				width := int64(h.step / time.Second)
				if h.span > 2*time.Minute {
					width = max(width, coarseRes)
				}
				a := newAgg()
				for _, k := range versions["v1"] {
					m.sum(&a, k, p.At.Unix(), p.At.Unix()+width-1)
				}
				want := a.summary(time.Second)
				if p.Requests != want.Requests || p.Errors != want.Errors || math.Abs(float64(p.P95-want.P95)) > 1e-6*float64(want.P95)+1 {
					t.Fatalf("step %d: History(%v, %v) point %v = %+v, want %d/%d p95 %v", step, h.span, h.step, p.At, p, want.Requests, want.Errors, want.P95)
				}
			}
		}
	}
	record := func(k Key, failed bool, lat time.Duration) {
		r.Record(k, failed, lat)
		m.record(k, c.Now(), failed, lat)
	}
	step := 0
	for c.Now().Sub(t0) < 50*time.Minute {
		step++
		switch x := rng.IntN(1000); {
		case x < 3: // idle, sometimes longer than the coarse ring
			c.Advance(time.Duration(rng.IntN(1200)) * time.Second)
		case x < 100:
			c.Advance(time.Duration(rng.IntN(30)) * time.Second)
		default:
			c.Advance(time.Duration(rng.IntN(1500)) * time.Millisecond)
		}
		spread := []float64{0.05, 0.5, 2}[rng.IntN(3)]
		for _, k := range keys {
			n := rng.IntN(6)
			if rng.IntN(20) == 0 {
				n = 200 + rng.IntN(300)
			}
			for range n {
				lat := time.Duration(float64(5*time.Millisecond) * math.Exp(rng.NormFloat64()*spread*3))
				record(k, rng.IntN(10) == 0, lat)
			}
		}
		if step%7 == 0 {
			check(step)
		}
	}
	check(step)
	t.Logf("%d steps", step)
}

// TestIntervalCountedOnce: an interval is read from its sealed record once
// it has one, whether or not some of its seconds are still in the ring, and
// from the ring before.
func TestIntervalCountedOnce(t *testing.T) {
	r, c := newTestRegistry()
	for range 10 {
		recordN(r, kA, 3, 1, time.Millisecond)
		c.Advance(time.Second)
	}
	s := r.series(kA)
	read := func() int64 {
		a := newAgg()
		s.mergeInterval(&a, t0.Unix())
		return a.requests
	}
	if s.sealed.Load() != nil || read() != 30 {
		t.Fatalf("before sealing: %d requests from the ring", read())
	}
	c.Advance(110 * time.Second) // t0+120: the first second of the interval leaves the ring
	r.Record(kA, false, time.Millisecond)
	if s.sealed.Load() == nil || s.peek(mod(t0.Unix()+1, fineSlots)).stamp.Load() != t0.Unix()+1 {
		t.Fatal("want the interval sealed and its other seconds still in the ring")
	}
	if n := read(); n != 30 {
		t.Fatalf("sealed, seconds 1..9 still in the ring: %d requests, want 30", n)
	}
	for range 9 {
		c.Advance(time.Second)
		r.Record(kA, false, time.Millisecond)
	}
	if n := read(); n != 30 {
		t.Fatalf("sealed, all seconds gone from the ring: %d requests, want 30", n)
	}
}

// TestRecordBeforeCreation: a Record that read the clock before the one
// that created its series, but lands after it, is counted, and the span
// starts with it.
func TestRecordBeforeCreation(t *testing.T) {
	r, c := newTestRegistry()
	c.Advance(5 * time.Second)
	r.Record(kA, false, time.Millisecond)
	c.Advance(-2500 * time.Millisecond)
	r.Record(kA, true, time.Millisecond)
	c.Advance(3500 * time.Millisecond)
	got := r.Window(kA, 10*time.Second, time.Time{})
	if got.Requests != 2 || got.Errors != 1 || got.Span != 3500*time.Millisecond {
		t.Fatalf("window %+v, want 2 requests, 1 error over 3.5 s", got)
	}
	if pts := r.History("shop", "v1", time.Minute, 10*time.Second); pts[len(pts)-1].Requests != 2 {
		t.Fatalf("history %+v", pts)
	}
}

// TestSparseAndDense checks that a bucket counts in sparse entries while
// it sees at most nSparse latency buckets, moves on to the dense histogram
// after that, keeps the dense histogram (zeroed) when it rotates, and that
// queries add up both parts.
func TestSparseAndDense(t *testing.T) {
	r, c := newTestRegistry()
	lat := func(i int) time.Duration { b, _ := histBounds(i); return time.Duration(b) }
	for i := 1; i <= nSparse; i++ {
		recordN(r, kA, i, 0, lat(i))
	}
	b := r.series(kA).peek(mod(t0.Unix(), fineSlots))
	if b.dense.Load() != nil {
		t.Fatal("dense histogram allocated for nSparse latency buckets")
	}
	recordN(r, kA, 100, 0, lat(20))
	recordN(r, kA, 5, 0, lat(1)) // has a sparse entry, but dense exists now
	d := b.dense.Load()
	if d == nil || d[20].Load() != 100 || d[1].Load() != 5 {
		t.Fatalf("dense histogram %v after a ninth latency bucket", d)
	}
	want := newAgg()
	for i := 1; i <= nSparse; i++ {
		want.hist[i] = uint64(i)
	}
	want.hist[1] += 5
	want.hist[20] = 100
	got := newAgg()
	b.mergeInto(&got, t0.Unix())
	if got.hist != want.hist || got.requests != 141 {
		t.Fatalf("merged histogram %v (%d requests), want %v", got.hist, got.requests, want.hist)
	}
	c.Advance(fineSlots * time.Second) // same bucket, next lap
	recordN(r, kA, 3, 1, lat(5))
	if b.dense.Load() != d || d[20].Load() != 0 || d[5].Load() != 3 {
		t.Fatal("dense histogram not kept and zeroed on rotation")
	}
	for i := range b.sparse {
		if v := b.sparse[i].Load(); v != 0 {
			t.Fatalf("sparse entry %d = %#x after rotation with a dense histogram", i, v)
		}
	}
	if s := r.Window(kA, time.Second, time.Time{}); s.Requests != 3 || s.Errors != 1 || s.P99 != lat(5) {
		t.Fatalf("after rotation: %+v", s)
	}
}

// TestSparseLimit fills a sparse entry up to entryLimit: later samples of
// its index go to the dense histogram instead of carrying into the index
// bits, and the entry next to it in the word is left alone.
func TestSparseLimit(t *testing.T) {
	r, _ := newTestRegistry()
	r.Record(kA, false, time.Millisecond)
	s := r.series(kA)
	b := s.peek(mod(t0.Unix(), fineSlots))
	idx := histIndex(int64(time.Millisecond))
	other := uint32(idx+2)<<entryCountBits | 7 // the second entry of the word
	b.sparse[0].Store(other<<entryBits | uint32(idx+1)<<entryCountBits | (entryLimit - 1))
	b.tally.Store(entryLimit - 1 + 7)
	recordN(r, kA, 3, 0, time.Millisecond)
	if v := b.sparse[0].Load(); v != other<<entryBits|uint32(idx+1)<<entryCountBits|entryLimit {
		t.Fatalf("sparse word = %#x, want count %d next to %#x", v, entryLimit, other)
	}
	if d := b.dense.Load(); d == nil || d[idx].Load() != 2 {
		t.Fatalf("dense histogram %v, want 2 samples of index %d", d, idx)
	}
	a := newAgg()
	s.mergeFine(&a, t0.Unix(), t0.Unix())
	if a.hist[idx] != entryLimit+2 || a.hist[idx+1] != 7 || a.requests != entryLimit+2+7 {
		t.Fatalf("merged %d in index %d and %d in the next of %d requests, want %d and 7", a.hist[idx], idx, a.hist[idx+1], a.requests, entryLimit+2)
	}
}

// TestRecordEntries encodes sealed records whose counts take each width of
// entry, and decodes them back.
func TestRecordEntries(t *testing.T) {
	for _, tc := range []struct {
		name  string
		hist  map[int]uint64
		words int // after the header
	}{
		{"none", nil, 0},
		{"one small", map[int]uint64{7: 1}, 1},
		{"two small", map[int]uint64{0: 1021, 47: 3}, 1},
		{"three small", map[int]uint64{1: 5, 2: 6, 3: 7}, 2},
		{"wide", map[int]uint64{5: 1022, 6: 1<<16 - 1}, 2},
		{"wider", map[int]uint64{5: 1 << 16, 9: 1<<32 - 1}, 3},
		{"wider with a zero low half and a small one", map[int]uint64{0: 1 << 20, 1: 2}, 2},
		{"capped", map[int]uint64{overflow: 1 << 40}, 2},
		{"every index wider", func() map[int]uint64 {
			m := map[int]uint64{}
			for i := range nHist {
				m[i] = 1<<32 - 1 - uint64(i)
			}
			return m
		}(), recMax - recHeader},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, want := newAgg(), newAgg()
			for i, c := range tc.hist {
				a.hist[i] = c
				want.hist[i] = min(c, 1<<32-1)
			}
			var buf [recMax]uint32
			rec := encodeRecord(&a, buf[:])
			back := newAgg()
			addEntries(&back, rec[recHeader:])
			if back.hist != want.hist || len(rec) != recHeader+tc.words {
				t.Fatalf("record %x (%d words) decodes to %v, want %v in %d words", rec, len(rec), back.hist, want.hist, recHeader+tc.words)
			}
		})
	}
}

func TestSpanBits(t *testing.T) {
	for _, ns := range []int64{0, 1, 3000, 1<<24 - 1, 1 << 24, 1<<24 + 1, 37e6, 123e6, 999_999_999, 60e9 + 7, spanMaxNs, 1 << 62} {
		down, up := spanBits(ns)
		c := min(ns, spanMaxNs)
		if lo, hi := spanNs(down), spanNs(up); lo > c || hi < c || down > up || up-down > 1 {
			t.Errorf("spanBits(%d) = [%d, %d]", ns, lo, hi)
		}
		if f := float32(c); int64(f) == c && (down != up || spanNs(down) != c) {
			t.Errorf("spanBits(%d) not exact for a float32 value", ns)
		}
	}
	if spanNs(uint32(spanEmpty)) != math.MaxInt64 || spanNs(uint32(spanEmpty>>32)) != 0 {
		t.Error("empty range does not decode to [MaxInt64, 0]")
	}
}

// TestSealedStoreSettles records the same traffic pattern for 50 minutes:
// once the first 15 minutes have sealed, rotating, sealing and recording
// allocate nothing and the store keeps its size.
func TestSealedStoreSettles(t *testing.T) {
	r, c := newTestRegistry()
	lats := []time.Duration{time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond, 9 * time.Millisecond,
		20 * time.Millisecond, 50 * time.Millisecond, 90 * time.Millisecond, 200 * time.Millisecond,
		500 * time.Millisecond, time.Second, 3 * time.Second} // 11 latency buckets: dense fine buckets
	run := func(d time.Duration) {
		for end := c.Now().Add(d); c.Now().Before(end); c.Advance(time.Second) {
			for _, l := range lats {
				r.Record(kA, false, l)
			}
			r.Record(kB, false, time.Millisecond) // sparse
		}
	}
	run(20 * time.Minute)
	sizes := func() (a, b int) {
		return len(r.series(kA).sealed.Load().words), len(r.series(kB).sealed.Load().words)
	}
	a0, b0 := sizes()
	if allocs := testing.AllocsPerRun(1, func() { run(30 * time.Minute) }); allocs != 0 {
		t.Fatalf("%v allocations in 30 minutes of steady traffic, want 0", allocs)
	}
	if a1, b1 := sizes(); a1 != a0 || b1 != b0 {
		t.Fatalf("stores went from %d, %d words to %d, %d", a0, b0, a1, b1)
	}
	// 78 sealed records of 4+11 and 4+1 words, with a quarter to spare.
	if a0 > 78*15*3/2 || b0 > 78*5*3/2 {
		t.Fatalf("store sizes %d, %d words", a0, b0)
	}
	// A 15-minute window reads 89 whole intervals and the current one.
	if s := r.Window(kA, 15*time.Minute, time.Time{}); s.Requests != 890*int64(len(lats)) {
		t.Fatalf("15 minutes hold %d requests, want %d", s.Requests, 890*len(lats))
	}
}

// TestSealedStoreResizes makes a store grow (wider latency spreads, so
// longer records) and shrink again (traffic stops spreading), checking the
// answers against the model throughout.
func TestSealedStoreResizes(t *testing.T) {
	r, c := newTestRegistry()
	m := newModel()
	var sizes []int
	for phase, width := range []int{1, 40, 2, 1} {
		for range 20 * 60 {
			c.Advance(time.Second)
			for i := range width {
				lat := time.Duration(float64(100*time.Microsecond) * math.Pow(histGrowth, float64(i)))
				r.Record(kA, false, lat)
				m.record(kA, c.Now(), false, lat)
			}
		}
		for _, w := range []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute} {
			if got, want := r.Window(kA, w, time.Time{}), m.window([]Key{kA}, c.Now(), w, time.Time{}); !sameSummary(got, want) {
				t.Fatalf("phase %d, %v window: got %+v, want %+v", phase, w, got, want)
			}
		}
		sizes = append(sizes, len(r.series(kA).sealed.Load().words))
	}
	if !(sizes[1] > 4*sizes[0] && sizes[2] < sizes[1]/2 && sizes[3] <= sizes[2]) {
		t.Fatalf("store sizes by phase %v: want growth, then shrinking", sizes)
	}
}

// TestConcurrentRotation has every goroutine record into each new second
// at once, so they race to rotate its bucket and to seal the interval it
// evicts, while readers query all the time. The clock moves between
// rounds, far enough for the coarse history to wrap around several times.
func TestConcurrentRotation(t *testing.T) {
	r, c := newTestRegistry()
	const workers, per = 4, 30
	var (
		stop    atomic.Bool
		readers sync.WaitGroup
		total   atomic.Int64
	)
	for range 2 {
		readers.Go(func() {
			var prevAt time.Time
			var prev int64
			for !stop.Load() {
				at := c.Now()
				s := r.VersionWindow("shop", "v1", 15*time.Minute, time.Time{})
				if s.Requests < 0 || s.Requests > total.Load()+workers*per || s.Errors > s.Requests || s.P50 > s.P95 || s.P95 > s.P99 {
					t.Errorf("inconsistent window %+v with %d recorded", s, total.Load())
					return
				}
				// While the clock stands still, data is only added: a
				// second leaving the ring is sealed first.
				if c.Now().Equal(at) {
					if at.Equal(prevAt) && s.Requests < prev {
						t.Errorf("at %v, a 15-minute window went from %d to %d requests", at, prev, s.Requests)
						return
					}
					prevAt, prev = at, s.Requests
				}
				r.Window(kA, 10*time.Second, time.Time{})
				r.History("shop", "v1", 15*time.Minute, 10*time.Second)
				r.History("shop", "v1", 2*time.Minute, time.Second)
			}
		})
	}
	m := newModel()
	rng := rand.New(rand.NewPCG(3, 5))
	for round := range 1500 {
		c.Advance(time.Duration(1+rng.IntN(3)) * time.Second)
		now := c.Now()
		spread := 1 + round%30
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := range per {
					k := kA
					if i%3 == 0 {
						k = kB
					}
					r.Record(k, i%10 == 0, time.Duration((i*spread+w)%97+1)*time.Millisecond)
				}
			})
			for i := range per {
				k := kA
				if i%3 == 0 {
					k = kB
				}
				m.record(k, now, i%10 == 0, time.Duration((i*spread+w)%97+1)*time.Millisecond)
			}
		}
		wg.Wait()
		total.Add(workers * per)
	}
	stop.Store(true)
	readers.Wait()
	now := c.Now()
	for _, w := range []time.Duration{10 * time.Second, 2 * time.Minute, 15 * time.Minute} {
		got, want := r.VersionWindow("shop", "v1", w, time.Time{}), m.window([]Key{kA, kB}, now, w, time.Time{})
		if !sameSummary(got, want) {
			t.Fatalf("%v window after concurrent rounds: got %+v, want %+v", w, got, want)
		}
	}
}

func TestLayout(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"bucket", unsafe.Sizeof(bucket{}), 48},
		{"chunk", unsafe.Sizeof(chunk{}), chunkSlots * 48},
		{"series", unsafe.Sizeof(Series{}), 232},
		{"dense histogram", unsafe.Sizeof(denseHist{}), nHist * 4},
		{"sealed slot table", unsafe.Sizeof(sealStore{}.slots), coarseSlots * 8},
	} {
		if c.got != c.want {
			t.Errorf("%s is %d bytes, doc says %d", c.name, c.got, c.want)
		}
	}
	if fineSlots%chunkSlots != 0 || recMax*coarseSlots*5/4 > maxStoreWords {
		t.Error("ring geometry does not fit")
	}
}
