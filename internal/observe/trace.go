package observe

import (
	"context"
	"net/http"

	"github.com/turnout-gw/turnout/internal/route"
)

// Tracer starts a span per proxied request and per upstream attempt. An
// applier calls it only when one is set (proxy.WithTracer), so a gateway
// without tracing pays one nil check per request.
//
// Implementations must be safe for concurrent use.
type Tracer interface {
	// StartRequest starts the server span of r after the routing decision
	// d, continuing the trace carried in r's headers (W3C traceparent and
	// baggage) or starting one. The returned context carries the span and
	// is the one the request is proxied with.
	StartRequest(r *http.Request, d *route.Decision) (context.Context, RequestSpan)
}

// RequestSpan is the server span of one request. Its methods are called on
// the request's goroutine; the pointers are only valid during the call.
type RequestSpan interface {
	// StartAttempt starts a client span, a child of the request span, for
	// one upstream attempt and writes its trace context into out's
	// headers. A request that falls back makes two attempts.
	StartAttempt(out *http.Request, service, version, upstream string) AttemptSpan
	// TraceID is the hex trace id, for the access log.
	TraceID() string
	// End ends the span with the request's result.
	End(res *Result)
}

// AttemptSpan is the client span of one upstream attempt.
type AttemptSpan interface {
	// End ends the span with the attempt's outcome.
	End(a *Attempt)
}
