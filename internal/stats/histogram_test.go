package stats

import (
	"math"
	"testing"
	"time"
)

func TestHistBounds(t *testing.T) {
	if histUpper[0] != int64(histLow) || histUpper[overflow-1] != int64(histHigh) {
		t.Fatalf("bounds %v .. %v", histUpper[0], histUpper[overflow-1])
	}
	for i := 1; i < len(histUpper); i++ {
		ratio := float64(histUpper[i]) / float64(histUpper[i-1])
		if ratio < 1.35 || ratio > 1.36 {
			t.Fatalf("bound %d grows by %v", i, ratio)
		}
	}
	tests := []struct {
		d    time.Duration
		want int
	}{
		{-time.Second, 0}, {0, 0}, {histLow - 1, 0}, {histLow, 1},
		{time.Duration(histUpper[1]) - 1, 1}, {time.Duration(histUpper[1]), 2},
		{histHigh - 1, overflow - 1}, {histHigh, overflow}, {time.Hour, overflow},
	}
	for _, tt := range tests {
		if got := histIndex(max(int64(tt.d), 0)); got != tt.want {
			t.Errorf("histIndex(%v) = %d, want %d", tt.d, got, tt.want)
		}
	}
	for i := range nHist {
		lo, hi := histBounds(i)
		if i < overflow && (histIndex(lo) != i || histIndex(hi-1) != i) {
			t.Errorf("bucket %d bounds [%d, %d) do not index back", i, lo, hi)
		}
	}
}

func TestQuantiles(t *testing.T) {
	type sample struct {
		lat  time.Duration
		fail bool
	}
	uniform := func(n int, unit time.Duration) []sample {
		s := make([]sample, n)
		for i := range s {
			s[i] = sample{lat: time.Duration(i+1) * unit}
		}
		return s
	}
	repeat := func(n int, d time.Duration) []sample {
		s := make([]sample, n)
		for i := range s {
			s[i] = sample{lat: d}
		}
		return s
	}
	tests := []struct {
		name          string
		samples       []sample
		p50, p95, p99 time.Duration
		tol           float64 // relative tolerance
	}{
		{"uniform 1..1000ms", uniform(1000, time.Millisecond), 500 * time.Millisecond, 950 * time.Millisecond, 990 * time.Millisecond, 0.15},
		{"uniform 1..1000µs", uniform(1000, time.Microsecond), 500 * time.Microsecond, 950 * time.Microsecond, 990 * time.Microsecond, 0.15},
		{"all same 37ms", repeat(500, 37*time.Millisecond), 37 * time.Millisecond, 37 * time.Millisecond, 37 * time.Millisecond, 0},
		{"all below 50µs", repeat(10, 3*time.Microsecond), 3 * time.Microsecond, 3 * time.Microsecond, 3 * time.Microsecond, 0},
		{"overflow reported as top", repeat(10, 5*time.Minute), histHigh, histHigh, histHigh, 0},
		{"bimodal 90/10", append(repeat(900, 10*time.Millisecond), repeat(100, 2*time.Second)...), 10 * time.Millisecond, 2 * time.Second, 2 * time.Second, 0.15},
		{"single", repeat(1, 123*time.Millisecond), 123 * time.Millisecond, 123 * time.Millisecond, 123 * time.Millisecond, 0},
		{"empty", nil, 0, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, c := newTestRegistry()
			r.Record(kB, false, 0) // make VersionWindow non-trivial
			for i, s := range tt.samples {
				if i%250 == 0 {
					c.Advance(time.Second) // spread over several buckets
				}
				r.Record(kA, s.fail, s.lat)
			}
			got := r.Window(kA, time.Minute, time.Time{})
			if got.Requests != int64(len(tt.samples)) {
				t.Fatalf("requests = %d, want %d", got.Requests, len(tt.samples))
			}
			for _, q := range []struct {
				name      string
				got, want time.Duration
			}{{"p50", got.P50, tt.p50}, {"p95", got.P95, tt.p95}, {"p99", got.P99, tt.p99}} {
				if diff := math.Abs(float64(q.got - q.want)); diff > tt.tol*float64(q.want) {
					t.Errorf("%s = %v, want %v ± %.0f%%", q.name, q.got, q.want, tt.tol*100)
				}
			}
			if !(got.P50 <= got.P95 && got.P95 <= got.P99) {
				t.Errorf("quantiles not ordered: %v %v %v", got.P50, got.P95, got.P99)
			}
		})
	}
}

// TestSummaryKeepsTheHistogram: a window's Summary carries the bucket
// counts its quantiles come from, and Above counts the buckets at or past a
// latency.
func TestSummaryKeepsTheHistogram(t *testing.T) {
	a := newAgg()
	for _, d := range []time.Duration{10 * time.Microsecond, time.Millisecond, time.Millisecond, 200 * time.Millisecond, 2 * time.Minute} {
		i := histIndex(int64(d))
		a.hist[i]++
		a.requests++
	}
	s := a.summary(time.Second)
	var total uint64
	for _, c := range s.Latency {
		total += c
	}
	if total != 5 || s.Latency[0] != 1 || s.Latency[NumBuckets-1] != 1 {
		t.Fatalf("Latency = %v, want the 5 samples with one in each end bucket", s.Latency)
	}
	if got := s.Latency.Above(100 * time.Millisecond); got != 2 {
		t.Errorf("Above(100ms) = %d, want 2 (200ms and the overflow)", got)
	}
	if got := s.Latency.Above(0); got != 5 {
		t.Errorf("Above(0) = %d, want 5", got)
	}
	for i := 1; i < NumBuckets; i++ {
		if BucketLower(i) <= BucketLower(i-1) {
			t.Fatalf("BucketLower(%d) = %v not above BucketLower(%d) = %v", i, BucketLower(i), i-1, BucketLower(i-1))
		}
	}
}
