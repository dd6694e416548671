package cluster

import (
	"slices"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/testutil/etcdtest"
	"github.com/turnout-gw/turnout/internal/testutil/wait"
)

// BenchmarkWeightPropagation measures how long a weight set through one
// member takes to be published by another: the etcd transaction, the
// watch, the adoption and the new table. It reports the p50 and p99 of
// b.N changes (a measurement, never asserted).
func BenchmarkWeightPropagation(b *testing.B) {
	srv := etcdtest.Start(b)
	cfg, err := config.Parse("fleet.yaml", []byte(fleetYAML))
	if err != nil {
		b.Fatal(err)
	}
	from := newMember(b, srv, "a", cfg)
	wait.For(b, deadline, "a to lead", from.runner.Leading)
	to := newMember(b, srv, "b", cfg)
	ch := make(chan float64, 16)
	to.mu.Lock()
	to.published = ch
	to.mu.Unlock()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		w := float64(20 + i%2*10) // 20, 30, 20, …: each a change
		start := time.Now()
		if _, err := from.eng.SetWeight("users", w, "api:bench"); err != nil {
			b.Fatal(err)
		}
		timeout := time.NewTimer(deadline)
	recv:
		for {
			select {
			case got := <-ch:
				if got == w {
					break recv
				}
			case <-timeout.C:
				b.Fatalf("weight %v not published by the other member within %v", w, deadline)
			}
		}
		timeout.Stop()
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[(len(lat)*99)/100].Microseconds())/1000, "p99-ms")
}
