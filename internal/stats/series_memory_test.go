//go:build !race

package stats

// The heap measurement runs without the race detector, which changes
// allocation sizes and slows it tenfold; scripts/test.sh runs it on its own.

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// TestSeriesMemory bounds what a series holds: a few seconds of traffic
// cost under a kilobyte (the benchmark's load of 1,000 services for 10 s),
// a quarter of an hour at a handful of requests per second well under the
// 48,720 bytes of the earlier fixed rings, and a hot series, whose every
// second needs a dense histogram, under them too.
func TestSeriesMemory(t *testing.T) {
	for _, tc := range []struct {
		name  string
		secs  int
		rps   float64
		limit float64 // bytes per series
	}{
		{"12 s at 8/s", 12, 8, 1200},
		{"16 min at 0.8/s", 16 * 60, 0.8, 10000},
		{"16 min at 8/s", 16 * 60, 8, 12500},
		{"16 min at 100/s", 16 * 60, 100, 37500}, // every second dense
	} {
		t.Run(tc.name, func(t *testing.T) {
			const n = 200
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			r, c := newTestRegistry()
			rng := rand.New(rand.NewPCG(1, 2))
			keys := make([]Key, n)
			due := make([]float64, n)
			for i := range keys {
				keys[i] = Key{fmt.Sprint("svc", i), "v1", "up"}
			}
			for range tc.secs {
				c.Advance(time.Second)
				for i, k := range keys {
					for due[i] += tc.rps; due[i] >= 1; due[i]-- {
						r.Record(k, false, time.Duration(3e6*math.Exp(rng.NormFloat64())))
					}
				}
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			per := float64(after.HeapAlloc-before.HeapAlloc) / n
			t.Logf("%.0f bytes per series", per)
			if per > tc.limit {
				t.Errorf("%.0f bytes per series, want at most %.0f", per, tc.limit)
			}
			runtime.KeepAlive(r)
		})
	}
}
