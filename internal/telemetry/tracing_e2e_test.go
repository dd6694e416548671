package telemetry_test

import (
	"context"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/turnout-gw/turnout/internal/testutil"
)

// tracingConfig sends X-Env: canary to v2 by a rule; v2 is down and the
// service falls back to v1.
const tracingConfig = `
state: memory
upstreams:
  users-v1: { targets: [{{V1}}] }
  users-v2: { targets: [{{DOWN}}] }
services:
  users:
    match: { path_prefix: /users }
    default: v1
    versions:
      v1: { upstream: users-v1 }
      v2: { upstream: users-v2 }
    rules:
      - { name: testers, match: { header: { X-Env: canary } }, version: v2 }
    fallback: true
`

const (
	incomingTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	incomingSpan  = "00f067aa0ba902b7"
)

// headerRecorder is an upstream that answers 200 and remembers the trace
// headers it received.
type headerRecorder struct {
	mu                     sync.Mutex
	traceparent, baggage   string
	tracestate, turnoutVer string
}

func (h *headerRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.traceparent, h.baggage = r.Header.Get("Traceparent"), r.Header.Get("Baggage")
	h.tracestate, h.turnoutVer = r.Header.Get("Tracestate"), r.Header.Get("X-Turnout-Version")
	h.mu.Unlock()
	_, _ = w.Write([]byte(`{"ok":true}`))
}

// TestTracingEndToEnd sends one request carrying a traceparent through a
// real Turnout that falls back from a down v2 to v1, and checks the spans a
// real OTLP receiver gets, over each protocol: one server span continuing
// the incoming trace, two client attempt spans under it, the attributes,
// and the traceparent the upstream received.
func TestTracingEndToEnd(t *testing.T) {
	for _, protocol := range []string{"grpc", "http/protobuf"} {
		t.Run(strings.ReplaceAll(protocol, "/", "_"), func(t *testing.T) {
			col, endpoint := startCollector(t, protocol)
			setTracingEnv(t, endpoint, protocol)
			up := &headerRecorder{}
			tt := testutil.Start(t, tracingConfig, map[string]string{"V1": newServer(t, up), "DOWN": downURL(t)})

			c := &http.Client{Timeout: 5 * time.Second}
			code, served, _ := testutil.Get(t, c, tt.URL+"/users/7", "X-Env: canary",
				"Traceparent: 00-"+incomingTrace+"-"+incomingSpan+"-01", "Tracestate: vendor=x", "Baggage: user=alice")
			if code != 200 || served != "v1" {
				t.Fatalf("request: %d served by %q, want 200 from v1 after fallback", code, served)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := tt.App.Stop(ctx); err != nil { // flushes the batch
				t.Fatalf("stop: %v", err)
			}

			spans := col.received(incomingTrace)
			if len(spans) != 3 {
				t.Fatalf("received %d spans of trace %s, want 3 (server + 2 attempts); all: %d", len(spans), incomingTrace, len(col.spans))
			}
			var server *tracepb.Span
			attempts := map[string]*tracepb.Span{}
			for _, s := range spans {
				if s.service != "turnout" {
					t.Errorf("span %q has service.name %q, want turnout", s.GetName(), s.service)
				}
				switch s.GetKind() {
				case tracepb.Span_SPAN_KIND_SERVER:
					server = s.Span
				case tracepb.Span_SPAN_KIND_CLIENT:
					attempts[attr(s.GetAttributes(), "turnout.version").GetStringValue()] = s.Span
				default:
					t.Errorf("span %q has kind %v", s.GetName(), s.GetKind())
				}
			}
			if server == nil || attempts["v1"] == nil || attempts["v2"] == nil {
				t.Fatalf("want a server span and client spans for v2 and v1; got server=%v attempts=%v", server != nil, len(attempts))
			}
			if got := hex.EncodeToString(server.GetParentSpanId()); got != incomingSpan {
				t.Errorf("server span parent = %s, want the incoming span %s", got, incomingSpan)
			}
			if server.GetName() != "GET /users" {
				t.Errorf("server span name %q, want \"GET /users\"", server.GetName())
			}
			if server.GetTraceState() != "vendor=x" {
				t.Errorf("server span tracestate %q, want the incoming vendor=x", server.GetTraceState())
			}
			wantAttrs(t, "server", server, map[string]any{"turnout.service": "users", "turnout.version": "v1",
				"turnout.reason": "rule", "turnout.rule": "testers", "turnout.fallback": true,
				"http.response.status_code": int64(200), "http.request.method": "GET", "url.path": "/users/7"})
			if server.GetStatus().GetCode() == tracepb.Status_STATUS_CODE_ERROR {
				t.Errorf("server span has an error status for a 200")
			}
			serverID := hex.EncodeToString(server.GetSpanId())
			for v, a := range attempts {
				if got := hex.EncodeToString(a.GetParentSpanId()); got != serverID {
					t.Errorf("attempt %s parent = %s, want the server span %s", v, got, serverID)
				}
				wantAttrs(t, "attempt "+v, a, map[string]any{"turnout.service": "users", "turnout.upstream": "users-" + v})
			}
			if a := attempts["v2"]; a.GetStatus().GetCode() != tracepb.Status_STATUS_CODE_ERROR || len(a.GetEvents()) == 0 {
				t.Errorf("the failed v2 attempt has status %v and %d events, want an error with the exception recorded", a.GetStatus(), len(a.GetEvents()))
			}
			wantAttrs(t, "attempt v1", attempts["v1"], map[string]any{"http.response.status_code": int64(200)})
			if attempts["v2"].GetStartTimeUnixNano() > attempts["v1"].GetStartTimeUnixNano() {
				t.Error("the v1 attempt started before the v2 attempt it fell back from")
			}

			up.mu.Lock()
			defer up.mu.Unlock()
			want := "00-" + incomingTrace + "-" + hex.EncodeToString(attempts["v1"].GetSpanId()) + "-01"
			if up.traceparent != want {
				t.Errorf("upstream received traceparent %q, want %q (parent = the v1 attempt span)", up.traceparent, want)
			}
			if up.baggage != "user=alice" || up.tracestate != "vendor=x" || up.turnoutVer != "v1" {
				t.Errorf("upstream received baggage %q, tracestate %q, X-Turnout-Version %q", up.baggage, up.tracestate, up.turnoutVer)
			}
		})
	}
}

// newServer serves h on 127.0.0.1 for the test and returns its URL.
func newServer(t *testing.T, h http.Handler) string {
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.URL
}

// setTracingEnv points the OTLP exporter at endpoint with protocol and
// clears the other variables that would change the outcome.
func setTracingEnv(t *testing.T, endpoint, protocol string) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
	for _, k := range []string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
		"OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES", "OTEL_TRACES_SAMPLER", "OTEL_SDK_DISABLED",
		"OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_COMPRESSION"} {
		t.Setenv(k, "")
	}
}

// wantAttrs checks attributes of a span (string, bool or int64 values).
func wantAttrs(t *testing.T, what string, s *tracepb.Span, want map[string]any) {
	t.Helper()
	for k, w := range want {
		var got any
		switch v := attr(s.GetAttributes(), k).GetValue().(type) {
		case *commonpb.AnyValue_StringValue:
			got = v.StringValue
		case *commonpb.AnyValue_BoolValue:
			got = v.BoolValue
		case *commonpb.AnyValue_IntValue:
			got = v.IntValue
		}
		if got != w {
			t.Errorf("%s span %s = %v (%T), want %v (%T)", what, k, got, got, w, w)
		}
	}
}
