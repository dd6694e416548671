package stats

import (
	"github.com/turnout-gw/turnout/internal/testutil/testclock"

	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// Benchmarks use the real clock: time.Now is part of Record's cost in
// production.

func BenchmarkRecord(b *testing.B) {
	r := NewRegistry(time.Now)
	r.Record(kA, false, time.Millisecond)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		r.Record(kA, i&15 == 0, time.Duration(i&1023)*time.Millisecond)
	}
}

// BenchmarkRecordFixedClock is Record's own cost, with a clock that costs
// next to nothing (time.Now takes ~85 ns on some VMs).
func BenchmarkRecordFixedClock(b *testing.B) {
	r := NewRegistry(func() time.Time { return t0 })
	r.Record(kA, false, time.Millisecond)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		r.Record(kA, i&15 == 0, time.Duration(i&1023)*time.Millisecond)
	}
}

// BenchmarkRecord1000Services spreads Records over 1,000 services with two
// versions each, as bench/run.sh's RSS step does: the index lookup of a
// key among many, with a clock that costs next to nothing.
func BenchmarkRecord1000Services(b *testing.B) {
	r := NewRegistry(func() time.Time { return t0 })
	keys := make([]Key, 2000)
	for i := range keys {
		keys[i] = Key{fmt.Sprintf("svc%03d", i/2), fmt.Sprintf("v%d", i%2+1), fmt.Sprintf("up%d", i%2+1)}
		r.Record(keys[i], false, time.Millisecond)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		r.Record(keys[i*7%len(keys)], false, time.Duration(i&7)*time.Millisecond)
	}
}

// BenchmarkRecordParallel has every goroutine hit the same series: the
// worst case, contended cache lines.
func BenchmarkRecordParallel(b *testing.B) {
	r := NewRegistry(time.Now)
	r.Record(kA, false, time.Millisecond)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			r.Record(kA, i&15 == 0, time.Duration(i&1023)*time.Millisecond)
		}
	})
}

// BenchmarkRecordParallelKeys gives each goroutine its own series.
func BenchmarkRecordParallelKeys(b *testing.B) {
	r := NewRegistry(time.Now)
	var next atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		k := Key{"svc", "v1", fmt.Sprint("up", next.Add(1))}
		r.Record(k, false, time.Millisecond)
		i := 0
		for pb.Next() {
			i++
			r.Record(k, i&15 == 0, time.Duration(i&1023)*time.Millisecond)
		}
	})
}

// fill records n requests per second for the last secs seconds of c's time.
func fill(r *Registry, c *testclock.Clock, keys []Key, secs, n int) {
	for s := range secs {
		if s > 0 {
			c.Advance(time.Second)
		}
		for _, k := range keys {
			for i := range n {
				r.Record(k, i == 0, time.Duration(i+1)*7*time.Millisecond)
			}
		}
	}
}

func BenchmarkWindow(b *testing.B) {
	r, c := newTestRegistry()
	fill(r, c, []Key{kA}, 120, 20)
	b.ReportAllocs()
	for b.Loop() {
		r.Window(kA, 10*time.Second, time.Time{})
	}
}

// BenchmarkAnalysis1000 is one analysis pass over 1,000 services: a 60 s
// VersionWindow for each of 2,000 (service, version) pairs with a full
// minute of data. One op is the whole pass.
func BenchmarkAnalysis1000(b *testing.B) {
	r, c := newTestRegistry()
	var keys []Key
	for s := range 1000 {
		for _, v := range []string{"v1", "v2"} {
			keys = append(keys, Key{fmt.Sprint("svc", s), v, "up0"})
		}
	}
	fill(r, c, keys, 60, 3)
	b.ReportAllocs()
	b.ResetTimer()
	var n int64
	for b.Loop() {
		for _, k := range keys {
			n += r.VersionWindow(k.Service, k.Version, time.Minute, time.Time{}).Requests
		}
	}
	if n == 0 {
		b.Fatal("no data")
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(keys)), "ns/version")
}

func BenchmarkHistory(b *testing.B) {
	r, c := newTestRegistry()
	fill(r, c, []Key{kA, kB}, 120, 5)
	b.ReportAllocs()
	for b.Loop() {
		r.History("shop", "v1", 15*time.Minute, 10*time.Second)
	}
}

// BenchmarkRecordNewKeys measures the first Record of 20,000 keys (10,000
// services with two versions): creating a series copies one shard of the
// index, so this stays linear in the number of keys.
func BenchmarkRecordNewKeys(b *testing.B) {
	keys := make([]Key, 20000)
	for i := range keys {
		keys[i] = Key{Service: fmt.Sprintf("svc%d", i/2), Version: fmt.Sprintf("v%d", i%2+1), Upstream: "u"}
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		r := NewRegistry(nil)
		for _, k := range keys {
			r.Record(k, false, time.Millisecond)
		}
		if got := len(r.Keys()); got != len(keys) {
			b.Fatalf("%d keys, want %d", got, len(keys))
		}
	}
}
