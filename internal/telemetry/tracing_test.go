package telemetry_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/telemetry"
	"github.com/turnout-gw/turnout/internal/testutil"
)

func TestTracingEnvironment(t *testing.T) {
	for _, c := range []struct {
		name     string
		env      map[string]string
		on       bool
		protocol string
	}{
		{"nothing set", nil, false, "http/protobuf"},
		{"endpoint", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, true, "http/protobuf"},
		{"traces endpoint, grpc", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4317",
			"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, true, "grpc"},
		{"traces protocol wins", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317",
			"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"}, true, "http/protobuf"},
		{"sdk disabled", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_SDK_DISABLED": "true"}, false, "http/protobuf"},
		{"exporter none", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_TRACES_EXPORTER": "none"}, false, "http/protobuf"},
	} {
		t.Run(c.name, func(t *testing.T) {
			setTracingEnv(t, "", "")
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			if got := telemetry.TracingEnabled(); got != c.on {
				t.Errorf("TracingEnabled() = %v, want %v", got, c.on)
			}
			if got := telemetry.TracingProtocol(); got != c.protocol {
				t.Errorf("TracingProtocol() = %q, want %q", got, c.protocol)
			}
			tr, err := telemetry.NewTracing(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if (tr != nil) != c.on {
				t.Fatalf("NewTracing() = %v, want a tracer: %v", tr, c.on)
			}
			if tr != nil {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				_ = tr.Shutdown(ctx)
			}
		})
	}
}

func TestTracingUnsupportedProtocol(t *testing.T) {
	setTracingEnv(t, "http://127.0.0.1:4318", "http/json")
	_, err := telemetry.NewTracing(context.Background(), nil)
	if err == nil || !strings.Contains(err.Error(), "http/json") {
		t.Fatalf("NewTracing with http/json = %v, want an error naming it", err)
	}
}

// TestTracingOffPassesTraceparent: without an endpoint no tracer runs and
// the client's traceparent reaches the upstream unchanged (SPEC.md).
func TestTracingOffPassesTraceparent(t *testing.T) {
	setTracingEnv(t, "", "")
	up := &headerRecorder{}
	v1 := newServer(t, up)
	tt := testutil.Start(t, tracingConfig, map[string]string{"V1": v1, "DOWN": downURL(t)})
	const tp = "00-" + incomingTrace + "-" + incomingSpan + "-01"
	c := &http.Client{Timeout: 5 * time.Second}
	if code, _, _ := testutil.Get(t, c, tt.URL+"/users/7", "Traceparent: "+tp, "Baggage: user=alice"); code != 200 {
		t.Fatalf("request: %d", code)
	}
	up.mu.Lock()
	defer up.mu.Unlock()
	if up.traceparent != tp || up.baggage != "user=alice" {
		t.Errorf("upstream received traceparent %q baggage %q, want them unchanged", up.traceparent, up.baggage)
	}
}
