package telemetry

import (
	"context"
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/turnout-gw/turnout/internal/observe"
	"github.com/turnout-gw/turnout/internal/route"
)

// Span attribute keys of Turnout's own concepts; the others follow the
// OpenTelemetry HTTP semantic conventions.
const (
	AttrService   = attribute.Key("turnout.service")
	AttrVersion   = attribute.Key("turnout.version") // the version that served
	AttrRequested = attribute.Key("turnout.requested_version")
	AttrReason    = attribute.Key("turnout.reason")
	AttrRule      = attribute.Key("turnout.rule")
	AttrFallback  = attribute.Key("turnout.fallback")
	AttrUpstream  = attribute.Key("turnout.upstream")

	attrMethod = attribute.Key("http.request.method")
	attrRoute  = attribute.Key("http.route")
	attrPath   = attribute.Key("url.path")
	attrStatus = attribute.Key("http.response.status_code")
	attrError  = attribute.Key("error.type")
)

// spanMethod is the method as the HTTP conventions name it in span names
// and attributes: one of the known methods, else "_OTHER" (a client cannot
// grow the set of span names).
func spanMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return m
	}
	return "_OTHER"
}

// StartRequest starts the server span of r, a child of the trace context
// in r's headers (W3C traceparent, tracestate and baggage) when there is
// one. The span is named "METHOD PATH_PREFIX" of the matched service
// ("METHOD" alone when none matched).
func (t *Tracing) StartRequest(r *http.Request, d *route.Decision) (context.Context, observe.RequestSpan) {
	ctx := t.prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	method := spanMethod(r.Method)
	name, service, prefix := method, Unmatched, ""
	if d.Service != nil {
		service, prefix = d.Service.Name, d.Service.PathPrefix
		name = method + " " + prefix
	}
	ctx, span := t.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
		attrMethod.String(method), attrPath.String(r.URL.Path), AttrService.String(service)))
	if prefix != "" && span.IsRecording() {
		span.SetAttributes(attrRoute.String(prefix))
	}
	return ctx, &requestSpan{t: t, ctx: ctx, span: span, method: method}
}

type requestSpan struct {
	t      *Tracing
	ctx    context.Context
	span   trace.Span
	method string
}

// StartAttempt starts a client span for one upstream attempt, a child of
// the server span, and writes its trace context (and the request's
// baggage) into out's headers, replacing the client's traceparent: the
// upstream's spans become children of the attempt.
func (s *requestSpan) StartAttempt(out *http.Request, service, version, upstream string) observe.AttemptSpan {
	ctx, span := s.t.tracer.Start(s.ctx, s.method+" "+upstream, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		attrMethod.String(s.method), AttrService.String(service), AttrVersion.String(version), AttrUpstream.String(upstream)))
	s.t.prop.Inject(ctx, propagation.HeaderCarrier(out.Header))
	return attemptSpan{span}
}

// TraceID is the hex trace id ("" when the span has no valid context).
func (s *requestSpan) TraceID() string {
	sc := s.span.SpanContext()
	if !sc.TraceID().IsValid() {
		return ""
	}
	return sc.TraceID().String()
}

// End records the result on the server span and ends it: the served
// version, the decision's reason, rule and requested version, whether the
// request fell back, the status (an error status on 5xx).
func (s *requestSpan) End(res *observe.Result) {
	span := s.span
	if span.IsRecording() {
		attrs := make([]attribute.KeyValue, 0, 8)
		attrs = append(attrs, attrStatus.Int(res.Status), AttrFallback.Bool(res.FellBack))
		if res.Served != nil {
			attrs = append(attrs, AttrVersion.String(res.Served.Name))
		}
		if res.Upstream != "" {
			attrs = append(attrs, AttrUpstream.String(res.Upstream))
		}
		if d := res.Decision; d != nil {
			if d.Reason != route.ReasonNone {
				attrs = append(attrs, AttrReason.String(d.Reason.String()))
			}
			if d.Rule != nil {
				attrs = append(attrs, AttrRule.String(d.Rule.Name))
			}
			if d.Requested != "" {
				attrs = append(attrs, AttrRequested.String(d.Requested))
			}
		}
		span.SetAttributes(attrs...)
		if res.Status >= 500 {
			msg := http.StatusText(res.Status)
			if res.Err != nil {
				msg = res.Err.Error()
			}
			span.SetAttributes(attrError.String(codeLabels[codeIndex(res.Status)]))
			span.SetStatus(codes.Error, msg)
		}
	}
	span.End()
}

type attemptSpan struct{ span trace.Span }

// End records the attempt's status or transport error and ends the span;
// a transport error or a 5xx is an error status.
func (a attemptSpan) End(at *observe.Attempt) {
	span := a.span
	if span.IsRecording() {
		switch {
		case at.Err != nil:
			span.RecordError(at.Err)
			span.SetAttributes(attrError.String("transport"))
			span.SetStatus(codes.Error, at.Err.Error())
		default:
			span.SetAttributes(attrStatus.Int(at.Status))
			if at.Status >= 500 {
				span.SetAttributes(attrError.String(codeLabels[codeIndex(at.Status)]))
				span.SetStatus(codes.Error, http.StatusText(at.Status))
			}
		}
	}
	span.End()
}
