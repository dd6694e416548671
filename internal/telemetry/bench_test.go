package telemetry_test

import (
	"testing"

	"github.com/turnout-gw/turnout/internal/proxy"
	"github.com/turnout-gw/turnout/internal/route"
	"github.com/turnout-gw/turnout/internal/telemetry"
)

// BenchmarkObserver is the metrics cost of one request: Decided and
// Finished of the request observer, its series already created.
func BenchmarkObserver(b *testing.B) {
	o, r := benchObserver()
	b.ReportAllocs()
	for b.Loop() {
		o.Decided(r.Decision)
		o.Finished(r)
	}
}

// BenchmarkObserverParallel is BenchmarkObserver from every P at once (the
// counters are shared, as in the gateway).
func BenchmarkObserverParallel(b *testing.B) {
	o, r := benchObserver()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			o.Decided(r.Decision)
			o.Finished(r)
		}
	})
}

func benchObserver() (proxy.Observer, *proxy.Result) {
	m := telemetry.NewMetrics()
	o := m.Observer()
	// Several services and versions, as a real configuration has.
	for _, name := range []string{"accounts", "billing", "orders", "search", "users"} {
		svc := &route.Service{Name: name}
		for _, v := range []string{"v1", "v2", "v3"} {
			o.Finished(result(svc, &route.Version{Name: v}, route.ReasonDefault, 200))
		}
	}
	r := result(&route.Service{Name: "users"}, &route.Version{Name: "v2"}, route.ReasonRollout, 200)
	o.Finished(r)
	return o, r
}
