package telemetry

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/turnout-gw/turnout/internal/observe"
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
	res := &observe.Result{Decision: d, Served: v2, Upstream: "users-v2", Status: 200}
	att := &observe.Attempt{Service: "users", Version: "v2", Upstream: "users-v2", Status: 200}
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
			var tracer observe.Tracer
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

// FuzzAppendJSONString: every string encodes as a valid JSON string that
// decodes to what encoding/json makes of the same string.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "/users/1", "q\"\\", "\x00\x1f\x7f", "\xff\xfe", "\u2028\u2029", "ü€😀", "\xe2\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := appendJSONString(nil, s)
		if !json.Valid(b) {
			t.Fatalf("%q encoded as invalid JSON %s", s, b)
		}
		var got, want string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		ref, _ := json.Marshal(s)
		if err := json.Unmarshal(ref, &want); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("%q decodes as %q, encoding/json's as %q", s, got, want)
		}
	})
}

// BenchmarkAccessLine is the writer goroutine's encoding cost per line.
func BenchmarkAccessLine(b *testing.B) {
	e := &accessEntry{at: time.Now(), method: "GET", path: "/users/12345/orders", service: "users", version: "v2",
		reason: "rollout", upstream: "users-v2", traceID: "4bf92f3577b34da6a3ce929d0e0e4736", status: 200, duration: 1234567}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = appendAccessLine(buf[:0], e)
	}
}
