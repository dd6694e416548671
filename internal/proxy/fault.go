package proxy

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/turnout-gw/turnout/internal/fault"
	"github.com/turnout-gw/turnout/internal/route"
	"github.com/turnout-gw/turnout/internal/upstream"
)

// Events is told about injected faults and limits that triggered. Its
// methods are called on the request's goroutine and must be fast and safe
// for concurrent use.
type Events interface {
	// Fault reports a fault of kind (fault.KindDelay, fault.KindAbort)
	// injected into a request to service's version.
	Fault(service, version, kind string)
	// Limit reports a request refused or degraded by a limit
	// ("fallback_body": too large to buffer for a retry).
	Limit(limit string)
}

// EventFuncs adapts functions to Events; nil fields are no-ops.
type EventFuncs struct {
	FaultFunc func(service, version, kind string)
	LimitFunc func(limit string)
}

// Fault calls FaultFunc when set.
func (f EventFuncs) Fault(service, version, kind string) {
	if f.FaultFunc != nil {
		f.FaultFunc(service, version, kind)
	}
}

// Limit calls LimitFunc when set.
func (f EventFuncs) Limit(limit string) {
	if f.LimitFunc != nil {
		f.LimitFunc(limit)
	}
}

// WithEvents receives injected faults and triggered limits.
func WithEvents(e Events) Option {
	return func(h *Handler) error {
		if e == nil {
			return errors.New("proxy: nil events")
		}
		h.events = e
		return nil
	}
}

// WithRand injects the random source of fault draws (default math/rand/v2's
// goroutine-safe generator). rnd must be safe for concurrent use.
func WithRand(rnd func() uint64) Option {
	return func(h *Handler) error {
		if rnd == nil {
			return errors.New("proxy: nil random source")
		}
		h.rnd = rnd
		return nil
	}
}

// WithSleep injects how an injected delay waits (default: a timer, cut
// short when ctx ends, returning ctx's error).
func WithSleep(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(h *Handler) error {
		if sleep == nil {
			return errors.New("proxy: nil sleep")
		}
		h.sleep = sleep
		return nil
	}
}

var defaultRand = rand.Uint64

// roundTrip sends out to pool, first applying the fault the decision
// gives an attempt on v (route.Decision.FaultFor): an injected
// delay holds the request (a client that goes away ends it), an injected
// abort answers it without reaching the upstream. Both count like the
// upstream's own latency and errors in the version's stats.
func (h *Handler) roundTrip(x *exchange, v *route.Version, pool *upstream.Pool, out *http.Request) (*http.Response, error) {
	f := x.d.FaultFor(v)
	if f == nil {
		return h.send1(x, pool, out)
	}
	o := f.Pick(h.rnd())
	if o.Delay > 0 {
		h.events.Fault(x.d.Service.Name, v.Name, fault.KindDelay)
		if err := h.sleep(out.Context(), o.Delay); err != nil {
			return nil, err
		}
	}
	if o.Abort != 0 {
		h.events.Fault(x.d.Service.Name, v.Name, fault.KindAbort)
		return abortResponse(out, o.Abort), nil
	}
	return h.send1(x, pool, out)
}

// recycle returns x to the pool unless a transport may still read the
// request built from it.
func (x *exchange) recycle() {
	if !x.held {
		exchanges.Put(x)
	}
}

// send1 sends out to pool and notes in x when the pool's transport may
// still read out afterwards and out points into x (see exchange.held).
func (h *Handler) send1(x *exchange, pool *upstream.Pool, out *http.Request) (*http.Response, error) {
	resp, held, err := pool.Send(out)
	if held && x.owns(out) {
		x.held = true
	}
	return resp, err
}

// owns reports whether out points into x: the direct path's requests (URL,
// X-Forwarded-* values and client trace in x) and every retry (its URL is
// x.retryURL) do. A first attempt through httputil.ReverseProxy (gRPC,
// upgrades) does not: its request is ReverseProxy's clone, with URL and
// headers of its own, and its context holds x only as a value the
// transport never asks for.
func (x *exchange) owns(out *http.Request) bool {
	return out.URL == &x.url || out.URL == &x.retryURL
}

// abortResponse is the answer to a request aborted by a fault.
func abortResponse(out *http.Request, status int) *http.Response {
	body := fault.AbortBody(status)
	return &http.Response{
		Status: strconv.Itoa(status) + " " + http.StatusText(status), StatusCode: status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"text/plain; charset=utf-8"}, fault.Header: {fault.KindAbort},
			"Content-Length": {strconv.Itoa(len(body))}},
		Body:          io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       out,
	}
}

// LimitFallbackBody is the Events.Limit name of a request body too large to
// buffer for a fallback retry (limits.fallback_body): it streams and is not
// retried.
const LimitFallbackBody = "fallback_body"

// Events.Limit names of the client-side bounds the proxy sees hit: a
// request body over limits.max_request_body_bytes (answered 413) or not
// received within limits.request_body_timeout (408), and an answer whose
// write to the client did not progress within limits.write_timeout.
const (
	LimitBodyBytes    = "body_bytes"
	LimitBodyTimeout  = "body_timeout"
	LimitWriteTimeout = "write_timeout"
)
