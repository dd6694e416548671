package telemetry

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// DefaultServiceName is the service.name of Turnout's spans unless
// OTEL_SERVICE_NAME (or service.name in OTEL_RESOURCE_ATTRIBUTES) says
// otherwise.
const DefaultServiceName = "turnout"

// instrumentation is the tracer's instrumentation scope.
const instrumentation = "github.com/turnout-gw/turnout"

// Protocols of the OTLP trace exporter.
const (
	ProtocolGRPC         = "grpc"
	ProtocolHTTPProtobuf = "http/protobuf"
)

// TracingEnabled reports whether the environment asks for traces: an OTLP
// endpoint is set (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or
// OTEL_EXPORTER_OTLP_ENDPOINT), the SDK is not disabled
// (OTEL_SDK_DISABLED=true) and the traces exporter is not "none"
// (OTEL_TRACES_EXPORTER).
func TracingEnabled() bool {
	if strings.EqualFold(strings.TrimSpace(os.Getenv("OTEL_SDK_DISABLED")), "true") {
		return false
	}
	if strings.TrimSpace(os.Getenv("OTEL_TRACES_EXPORTER")) == "none" {
		return false
	}
	return env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT") != ""
}

// TracingProtocol is the OTLP protocol the environment asks for:
// OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, else OTEL_EXPORTER_OTLP_PROTOCOL,
// else http/protobuf (the OpenTelemetry specification's default).
func TracingProtocol() string {
	if p := env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"); p != "" {
		return p
	}
	return ProtocolHTTPProtobuf
}

func env(names ...string) string {
	for _, n := range names {
		if v := strings.TrimSpace(os.Getenv(n)); v != "" {
			return v
		}
	}
	return ""
}

// Tracing is Turnout's OpenTelemetry tracing: a tracer provider that
// batches spans to an OTLP exporter, and the observe.Tracer that makes a
// server span per request and a client span per upstream attempt,
// continuing and propagating W3C trace context and baggage.
type Tracing struct {
	tp     *sdktrace.TracerProvider
	tracer trace.Tracer
	prop   propagation.TextMapPropagator
	once   sync.Once
	err    error
}

// NewTracing returns nil, nil when TracingEnabled is false: then no tracer
// is installed at all. Otherwise it builds the OTLP exporter of
// TracingProtocol, which reads its endpoint, headers, timeout, TLS and
// compression from the standard OTEL_EXPORTER_OTLP_* variables; the batch
// processor reads OTEL_BSP_*, the sampler OTEL_TRACES_SAMPLER (default:
// parent-based always-on) and the resource OTEL_SERVICE_NAME and
// OTEL_RESOURCE_ATTRIBUTES. Export errors are logged to log.
func NewTracing(ctx context.Context, log *slog.Logger) (*Tracing, error) {
	if !TracingEnabled() {
		return nil, nil
	}
	var (
		exp sdktrace.SpanExporter
		err error
	)
	switch p := TracingProtocol(); p {
	case ProtocolGRPC:
		exp, err = otlptracegrpc.New(ctx)
	case ProtocolHTTPProtobuf:
		exp, err = otlptracehttp.New(ctx)
	default:
		return nil, fmt.Errorf("OTLP protocol %q is not supported for traces; use %s or %s", p, ProtocolGRPC, ProtocolHTTPProtobuf)
	}
	if err != nil {
		return nil, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", DefaultServiceName)),
		resource.WithFromEnv(), resource.WithTelemetrySDK())
	if err != nil {
		_ = exp.Shutdown(ctx)
		return nil, fmt.Errorf("trace resource: %w", err)
	}
	if log != nil {
		otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { log.Warn("tracing", "error", err) }))
	}
	return newTracing(sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))), nil
}

// newTracing returns the Tracing of a tracer provider.
func newTracing(tp *sdktrace.TracerProvider) *Tracing {
	return &Tracing{
		tp:     tp,
		tracer: tp.Tracer(instrumentation),
		prop:   propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
	}
}

// Provider returns the tracer provider (for other instrumented parts).
func (t *Tracing) Provider() trace.TracerProvider { return t.tp }

// Propagator returns the W3C trace context and baggage propagator.
func (t *Tracing) Propagator() propagation.TextMapPropagator { return t.prop }

// Shutdown flushes the spans still batched and stops the exporter. It is
// safe to call more than once; later calls return the first's error.
func (t *Tracing) Shutdown(ctx context.Context) error {
	t.once.Do(func() { t.err = t.tp.Shutdown(ctx) })
	return t.err
}
