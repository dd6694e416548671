package middleware

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/turnout-gw/turnout/internal/fault"
	"github.com/turnout-gw/turnout/internal/httperr"
)

// WithRand injects the random source of fault draws (default math/rand/v2's
// goroutine-safe generator), as the gateway's does. rnd must be safe for
// concurrent use.
func WithRand(rnd func() uint64) Option {
	return func(m *Middleware) error {
		if rnd == nil {
			return errors.New("middleware: nil random source")
		}
		m.rnd = rnd
		return nil
	}
}

var defaultRand = rand.Uint64

// injectFault applies the fault the decision of x carries (route.Decision
// .Fault, the one the proxy applies), drawn from m's random source: an
// injected delay holds the request until it elapses or the client goes
// away, an injected abort answers it without calling the handler. It
// reports whether the request was answered (aborted, or its client gone);
// an abort counts as the version's answer, as the proxy counts it.
func (m *Middleware) injectFault(x *exchange, w http.ResponseWriter, r *http.Request) bool {
	o := x.d.Fault.Pick(m.rnd())
	if o.Delay > 0 {
		m.counted(x, fault.KindDelay)
		if err := fault.Sleep(r.Context(), o.Delay); err != nil {
			m.report(x, false, httperr.StatusClientClosed, err)
			return true
		}
	}
	if o.Abort == 0 {
		return false
	}
	m.counted(x, fault.KindAbort)
	body := fault.AbortBody(o.Abort)
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set(fault.Header, fault.KindAbort)
	w.WriteHeader(o.Abort)
	_, _ = w.Write([]byte(body))
	m.report(x, true, o.Abort, nil)
	return true
}

// injectCallFault is injectFault for a gRPC call: a non-nil error is the
// call's answer, an abort's HTTP status mapped to its gRPC code as Envoy's
// fault filter maps it for gRPC clients, or the context's error for a
// caller gone during a delay.
func (m *Middleware) injectCallFault(ctx context.Context, c *call) error {
	o := c.d.Fault.Pick(m.rnd())
	if o.Delay > 0 {
		m.counted(&c.exchange, fault.KindDelay)
		if err := fault.Sleep(ctx, o.Delay); err != nil {
			m.report(&c.exchange, false, httperr.StatusClientClosed, err)
			return status.FromContextError(err).Err()
		}
	}
	if o.Abort == 0 {
		return nil
	}
	m.counted(&c.exchange, fault.KindAbort)
	err := status.Error(abortCode(o.Abort), "fault injected: "+strconv.Itoa(o.Abort)+" "+http.StatusText(o.Abort))
	m.report(&c.exchange, true, o.Abort, err)
	return err
}

// counted counts a fault of kind injected into x in
// turnout_faults_injected_total, as the proxy counts its own.
func (m *Middleware) counted(x *exchange, kind string) {
	m.core.Metrics.ObserveFault(x.d.Service.Name, x.d.Version.Name, kind)
}

// abortCode is the gRPC code of an HTTP status, by gRPC's own mapping
// (doc/http-grpc-status-mapping.md).
func abortCode(s int) codes.Code {
	switch s {
	case http.StatusBadRequest:
		return codes.Internal
	case http.StatusUnauthorized:
		return codes.Unauthenticated
	case http.StatusForbidden:
		return codes.PermissionDenied
	case http.StatusNotFound:
		return codes.Unimplemented
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return codes.Unavailable
	}
	return codes.Unknown
}
