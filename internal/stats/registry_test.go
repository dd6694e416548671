package stats

import (
	"math"
	"slices"
	"sync"
	"testing"
	"time"
)

var (
	kA = Key{"shop", "v1", "a"}
	kB = Key{"shop", "v1", "b"}
	kC = Key{"shop", "v2", "a"}
)

func TestWindowCounts(t *testing.T) {
	// Timeline: 10 requests (2 failed) at t0, 20 (5 failed) at t0+30s,
	// 40 (10 failed) at t0+55s; queries at t0+60s.
	type step struct {
		at        time.Duration
		n, errs   int
		advanceTo time.Duration
	}
	tests := []struct {
		name            string
		window          time.Duration
		since           time.Duration // offset from t0; <0 means zero time
		wantReq, wantEr int64
		wantSpan        time.Duration
	}{
		{"all within 2m", 2 * time.Minute, -1, 70, 17, 60 * time.Second},
		{"exactly reaches t0", 60 * time.Second, -1, 70, 17, 60 * time.Second},
		{"older than window excluded", 59 * time.Second, -1, 60, 15, 59 * time.Second},
		{"only last 10s", 10 * time.Second, -1, 40, 10, 10 * time.Second},
		{"empty recent window", 4 * time.Second, -1, 0, 0, 4 * time.Second},
		{"since excludes earlier data", 2 * time.Minute, 30 * time.Second, 60, 15, 30 * time.Second},
		{"since mid-second rounds up", 2 * time.Minute, 30*time.Second + time.Millisecond, 40, 10, 29 * time.Second},
		{"window tighter than since", 10 * time.Second, 30 * time.Second, 40, 10, 10 * time.Second},
		{"since in the future", time.Minute, 90 * time.Second, 0, 0, 0},
		{"coarse window", 10 * time.Minute, -1, 70, 17, 60 * time.Second},
		{"long window, recent since reads fine ring", 10 * time.Minute, 25 * time.Second, 60, 15, 35 * time.Second},
		{"coarse window, since rounds up to 10s", 10 * time.Minute, 25*time.Second - 3*time.Minute, 70, 17, 60 * time.Second},
		{"zero window", 0, -1, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, c := newTestRegistry()
			recordN(r, kA, 10, 2, time.Millisecond)
			c.Advance(30 * time.Second)
			recordN(r, kA, 20, 5, time.Millisecond)
			c.Advance(25 * time.Second)
			recordN(r, kA, 40, 10, time.Millisecond)
			c.Advance(5 * time.Second)

			var since time.Time
			if tt.since >= 0 {
				since = t0.Add(tt.since)
			}
			got := r.Window(kA, tt.window, since)
			if got.Requests != tt.wantReq || got.Errors != tt.wantEr {
				t.Fatalf("requests/errors = %d/%d, want %d/%d", got.Requests, got.Errors, tt.wantReq, tt.wantEr)
			}
			if got.Span != tt.wantSpan {
				t.Errorf("span = %v, want %v", got.Span, tt.wantSpan)
			}
			var wantRate, wantRatio float64
			if tt.wantReq > 0 {
				wantRatio = float64(tt.wantEr) / float64(tt.wantReq)
				wantRate = float64(tt.wantReq) / tt.wantSpan.Seconds()
			}
			if math.Abs(got.ErrorRate-wantRatio) > 1e-12 || math.Abs(got.Rate-wantRate) > 1e-9 {
				t.Errorf("error rate, rate = %v, %v, want %v, %v", got.ErrorRate, got.Rate, wantRatio, wantRate)
			}
			if tt.wantReq == 0 && (got.P50 != 0 || got.P95 != 0 || got.P99 != 0) {
				t.Errorf("empty window quantiles = %v %v %v, want 0", got.P50, got.P95, got.P99)
			}
		})
	}
}

func TestWindowUnknownKey(t *testing.T) {
	r, _ := newTestRegistry()
	if got := r.Window(kA, time.Minute, time.Time{}); got != (Summary{}) {
		t.Fatalf("unknown key: %+v", got)
	}
	if got := r.VersionWindow("nope", "v1", time.Minute, time.Time{}); got != (Summary{}) {
		t.Fatalf("unknown version: %+v", got)
	}
}

func TestRotation(t *testing.T) {
	tests := []struct {
		name    string
		advance time.Duration
		window  time.Duration
		want    int64 // requests in the window after the second batch
	}{
		{"same fine slot after 120s", 120 * time.Second, 119 * time.Second, 3},
		{"120s window at 120s still reaches t0", 120 * time.Second, 2 * time.Minute, 53},
		{"fine ring wrapped after 200s", 200 * time.Second, 2 * time.Minute, 3},
		{"coarse still holds old data", 200 * time.Second, 15 * time.Minute, 53},
		{"same coarse slot after 900s", 900 * time.Second, 15 * time.Minute, 3},
		{"coarse ring wrapped after 1000s", 1000 * time.Second, 15 * time.Minute, 3},
		{"long idle, no new record", 24 * time.Hour, 15 * time.Minute, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, c := newTestRegistry()
			recordN(r, kA, 50, 50, 10*time.Second)
			c.Advance(tt.advance)
			if tt.want > 0 {
				recordN(r, kA, 3, 0, time.Millisecond)
			}
			got := r.Window(kA, tt.window, time.Time{})
			if got.Requests != tt.want {
				t.Fatalf("requests = %d, want %d", got.Requests, tt.want)
			}
			if tt.want == 3 && (got.Errors != 0 || got.P99 > 2*time.Millisecond) {
				t.Fatalf("old data leaked: errors %d, p99 %v", got.Errors, got.P99)
			}
			// The rotated slot itself holds only the new interval.
			s := r.series(kA)
			b := s.peek(mod(t0.Unix(), fineSlots))
			if tt.advance%(fineSlots*time.Second) == 0 && tt.want > 0 {
				if n := b.tally.Load(); n != 3 {
					t.Fatalf("rotated fine bucket count = %d, want 3", n)
				}
			}
		})
	}
}

func TestHistory(t *testing.T) {
	r, c := newTestRegistry()
	// Point i of 90 gets i+1 requests, (i+1)/3 failed, latency (i+1) ms.
	for i := range 90 {
		if i > 0 {
			c.Advance(10 * time.Second)
		}
		recordN(r, kA, i+1, (i+1)/3, time.Duration(i+1)*time.Millisecond)
	}
	recordN(r, kC, 7, 0, time.Millisecond) // another version: not counted
	c.Advance(3 * time.Second)
	pts := r.History("shop", "v1", 15*time.Minute, 10*time.Second)
	if len(pts) != 90 {
		t.Fatalf("got %d points, want 90", len(pts))
	}
	for i, p := range pts {
		wantAt := t0.Add(time.Duration(i) * 10 * time.Second)
		if !p.At.Equal(wantAt) || p.Requests != int64(i+1) || p.Errors != int64((i+1)/3) {
			t.Fatalf("point %d = %v %d/%d, want %v %d/%d", i, p.At, p.Requests, p.Errors, wantAt, i+1, (i+1)/3)
		}
		wantRate := float64(i+1) / 10
		if i == 89 {
			wantRate = float64(i+1) / 3 // the last point covers 3 s so far
		}
		if math.Abs(p.Rate-wantRate) > 1e-9 {
			t.Fatalf("point %d rate = %v, want %v", i, p.Rate, wantRate)
		}
		if want := time.Duration(i+1) * time.Millisecond; p.P95 != want {
			t.Fatalf("point %d p95 = %v, want %v", i, p.P95, want)
		}
	}

	t.Run("fine steps", func(t *testing.T) {
		r, c := newTestRegistry()
		for i := range 60 {
			if i > 0 {
				c.Advance(time.Second)
			}
			recordN(r, kA, i%5, 0, time.Millisecond)
			recordN(r, kB, 1, 1, time.Millisecond)
		}
		pts := r.History("shop", "v1", time.Minute, time.Second)
		if len(pts) != 60 {
			t.Fatalf("got %d points, want 60", len(pts))
		}
		for i, p := range pts {
			if !p.At.Equal(t0.Add(time.Duration(i)*time.Second)) || p.Requests != int64(i%5+1) || p.Errors != 1 {
				t.Fatalf("point %d = %+v", i, p)
			}
		}
		pts = r.History("shop", "v1", time.Minute, 15*time.Second)
		if len(pts) != 4 || pts[0].Requests != 45 || pts[3].Requests != 45 {
			t.Fatalf("15s steps: %+v", pts)
		}
	})
	t.Run("empty and clamped", func(t *testing.T) {
		r, _ := newTestRegistry()
		if pts := r.History("shop", "v1", time.Hour, 0); len(pts) != 90 || pts[89].Requests != 0 {
			t.Fatalf("unknown version: %d points", len(pts))
		}
		if pts := r.History("shop", "v1", 0, time.Second); pts != nil {
			t.Fatalf("zero span: %v", pts)
		}
	})
}

func TestVersionWindowMergesUpstreams(t *testing.T) {
	r, c := newTestRegistry()
	recordN(r, kA, 100, 10, 10*time.Millisecond)
	recordN(r, kB, 100, 30, 100*time.Millisecond)
	recordN(r, kC, 500, 500, time.Second)
	recordN(r, Key{"other", "v1", "a"}, 500, 500, time.Second)
	c.Advance(5 * time.Second)

	got := r.VersionWindow("shop", "v1", time.Minute, time.Time{})
	if got.Requests != 200 || got.Errors != 40 || got.ErrorRate != 0.2 {
		t.Fatalf("merged = %+v", got)
	}
	// p50 lies in the histogram bucket holding 10ms, whose width is the
	// quantile error bound (~1.356×).
	if got.P50 < 10*time.Millisecond || float64(got.P50) > 10e6*histGrowth || got.P99 < 95*time.Millisecond || got.P99 > 100*time.Millisecond {
		t.Fatalf("merged quantiles p50 %v p99 %v", got.P50, got.P99)
	}
	a, b := r.Window(kA, time.Minute, time.Time{}), r.Window(kB, time.Minute, time.Time{})
	if a.Requests+b.Requests != got.Requests || a.Errors+b.Errors != got.Errors {
		t.Fatalf("sum of windows %+v + %+v != %+v", a, b, got)
	}
}

func TestKeysAndForget(t *testing.T) {
	r, _ := newTestRegistry()
	keys := []Key{{"b", "v1", "x"}, kC, {"a", "v2", "z"}, kB, kA, {"a", "v1", "z"}}
	for _, k := range keys {
		r.Record(k, false, time.Millisecond)
	}
	want := slices.Clone(keys)
	slices.SortFunc(want, Key.compare)
	if got := r.Keys(); !slices.Equal(got, want) {
		t.Fatalf("Keys = %v, want %v", got, want)
	}
	r.Forget("shop")
	want = []Key{{"a", "v1", "z"}, {"a", "v2", "z"}, {"b", "v1", "x"}}
	if got := r.Keys(); !slices.Equal(got, want) {
		t.Fatalf("after Forget Keys = %v, want %v", got, want)
	}
	if got := r.VersionWindow("shop", "v1", time.Minute, time.Time{}); got.Requests != 0 {
		t.Fatalf("forgotten service still has %d requests", got.Requests)
	}
	r.Record(kA, false, time.Millisecond)
	if got := r.Window(kA, time.Minute, time.Time{}); got.Requests != 1 {
		t.Fatalf("re-created series has %d requests, want 1", got.Requests)
	}
}

func TestConcurrentRecord(t *testing.T) {
	r, _ := newTestRegistry()
	const workers, per = 8, 10_000
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range per {
				k := kA
				if i%2 == 1 {
					k = kB
				}
				r.Record(k, (i+w)%10 == 0, time.Duration(i%100)*time.Millisecond)
				if i%1000 == 0 {
					_ = r.VersionWindow("shop", "v1", time.Minute, time.Time{})
					_ = r.Keys()
				}
			}
		})
	}
	wg.Wait()
	got := r.VersionWindow("shop", "v1", time.Minute, time.Time{})
	if got.Requests != workers*per || got.Errors != workers*per/10 {
		t.Fatalf("requests/errors = %d/%d, want %d/%d", got.Requests, got.Errors, workers*per, workers*per/10)
	}
	if c := r.VersionWindow("shop", "v1", 10*time.Minute, time.Time{}); c.Requests != workers*per {
		t.Fatalf("coarse ring requests = %d, want %d", c.Requests, workers*per)
	}
}

func TestRecordAllocs(t *testing.T) {
	r, c := newTestRegistry()
	r.Record(kA, false, time.Millisecond)
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		i++
		if i%100 == 0 {
			c.Advance(time.Second) // include rotations
		}
		r.Record(kA, i%7 == 0, time.Duration(i)*time.Microsecond)
	})
	if allocs != 0 {
		t.Fatalf("Record allocates %v per call, want 0", allocs)
	}
	if a := testing.AllocsPerRun(100, func() { r.Window(kA, 10*time.Second, time.Time{}) }); a != 0 {
		t.Fatalf("Window allocates %v per call, want 0", a)
	}
}
