package telemetry

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/turnout-gw/turnout/internal/proxy"
	"github.com/turnout-gw/turnout/internal/route"
)

// discard is a span exporter that drops everything.
type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }

// BenchmarkTracing is the tracing cost of one proxied request that makes
// one upstream attempt (StartRequest, StartAttempt with header injection,
// both Ends), spans batched to an exporter that drops them. "off" is what
// the proxy runs when tracing is off: a nil Tracer, never called.
func BenchmarkTracing(b *testing.B) {
	svc := &route.Service{Name: "users", PathPrefix: "/users"}
	v2 := &route.Version{Name: "v2", Upstream: "users-v2"}
	d := &route.Decision{Service: svc, Version: v2, Reason: route.ReasonRollout}
	res := &proxy.Result{Decision: d, Served: v2, Upstream: "users-v2", Status: 200}
	att := &proxy.Attempt{Service: "users", Version: "v2", Upstream: "users-v2", Status: 200}
	for _, c := range []struct {
		name, traceparent string
		sampler           sdktrace.Sampler
	}{
		{"off", "", nil},
		{"sampled", "", sdktrace.AlwaysSample()},
		{"sampled-parent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", sdktrace.ParentBased(sdktrace.AlwaysSample())},
		{"unsampled-parent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", sdktrace.ParentBased(sdktrace.AlwaysSample())},
	} {
		b.Run(c.name, func(b *testing.B) {
			var tracer proxy.Tracer
			if c.sampler != nil {
				tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(c.sampler), sdktrace.WithBatcher(discard{}))
				b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
				tracer = newTracing(tp)
			}
			r := httptest.NewRequest(http.MethodGet, "/users/1", nil)
			if c.traceparent != "" {
				r.Header.Set("Traceparent", c.traceparent)
			}
			out := httptest.NewRequest(http.MethodGet, "/users/1", nil)
			b.ReportAllocs()
			for b.Loop() {
				if tracer == nil {
					continue
				}
				_, span := tracer.StartRequest(r, d)
				a := span.StartAttempt(out, "users", "v2", "users-v2")
				a.End(att)
				res.TraceID = span.TraceID()
				span.End(res)
			}
		})
	}
}
