package proxy

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/turnout-gw/turnout/internal/httperr"
	"github.com/turnout-gw/turnout/internal/observe"
	"github.com/turnout-gw/turnout/internal/route"
	"github.com/turnout-gw/turnout/internal/upstream"
)

// transport is the ReverseProxy's RoundTripper: it sends the request to the
// decided version's pool and, when the service has fallback on, retries a
// failed request once on the fallback version.
type transport struct{ h *Handler }

func (t transport) RoundTrip(out *http.Request) (*http.Response, error) {
	return t.h.send(out.Context().Value(exchangeKey{}).(*exchange), out)
}

// send sends out to the decided version and, when the service has fallback
// on, retries a failed request once on the fallback version.
func (h *Handler) send(x *exchange, out *http.Request) (*http.Response, error) {
	v := x.d.Version
	fb := x.d.Service.Fallback
	retry := fb != nil && fb != v && x.d.Reason != route.ReasonPinned && out.Header.Get("Upgrade") == ""
	if v.Adapter != nil {
		// The body is rewritten for the serving version's upstream; it is
		// not sent to another version.
		retry = false
		if err := h.adaptRequest(x, v, out); err != nil {
			return nil, err
		}
	}
	retry = retry && fb.Adapter == nil

	body, err := preread(x, out)
	if err != nil {
		return nil, err // the client's body failed before any upstream was chosen
	}
	var stream *streamBody
	if body == nil && out.Body != nil && out.Body != http.NoBody {
		if retry && out.ContentLength > x.snap.FallbackBody {
			// Too large to keep: it streams and is not retried. (A stream
			// of unknown length is retried only if never read.)
			retry = false
			h.events.Limit(LimitFallbackBody)
		}
		stream = &streamBody{rc: out.Body, in: x.in}
		out.Body = stream
	}
	x.retryURL = *out.URL // the pool rewrites out.URL; a retry starts from the original

	resp, err := h.attempt(x, v, out)
	if !retry || !failed(resp, err) || out.Context().Err() != nil {
		return resp, err
	}
	if stream != nil && stream.wasRead() {
		return resp, err // part of the body is gone: it cannot be sent again
	}
	// A non-idempotent request is retried only when it never reached the
	// upstream.
	if !idempotent(out.Method) && (err == nil || !upstream.IsConnectError(err)) {
		return resp, err
	}
	if resp != nil {
		drain(resp.Body)
	}
	again := out.Clone(out.Context())
	again.URL = &x.retryURL
	if body != nil {
		setBody(again, body)
	} else if stream != nil {
		again.Body = &streamBody{rc: stream.rc, in: x.in}
	}
	x.fellBack = true
	return h.attempt(x, fb, again)
}

// attempt sends out to version v's pool and reports it to the observer.
func (h *Handler) attempt(x *exchange, v *route.Version, out *http.Request) (*http.Response, error) {
	pool := x.snap.Pools[v.Upstream]
	x.served, x.upstream = v, v.Upstream
	if pool == nil {
		return nil, fmt.Errorf("no upstream pool %q for version %s", v.Upstream, v.Name)
	}
	out.Header["X-Turnout-Version"] = v.NameHeader()
	var span observe.AttemptSpan
	if x.span != nil {
		span = x.span.StartAttempt(out, x.d.Service.Name, v.Name, v.Upstream)
	}
	start := h.now()
	resp, err := h.roundTrip(x, v, pool, out)
	if sb, ok := out.Body.(*streamBody); ok {
		if ce := sb.clientErr(); ce != nil {
			// The client's body failed: whatever the upstream did with the
			// part it got is not the version's doing.
			if resp != nil {
				_ = resp.Body.Close()
			}
			resp, err = nil, ce
		}
	}
	if v.Adapter != nil && err == nil && resp != nil {
		resp, err = h.adaptResponse(x, v, resp)
	}
	a := &x.att // the observers' pointer is valid only during the call
	*a = observe.Attempt{Service: x.d.Service.Name, Version: v.Name, Upstream: v.Upstream, Err: err, Duration: h.now().Sub(start)}
	if resp != nil {
		a.Status = resp.StatusCode
	}
	if span != nil {
		span.End(a)
	}
	h.obs.Attempted(a)
	return resp, err
}

// streamBody is the outbound body of a request whose body is not buffered.
//
// httputil.ReverseProxy hands the transport a body whose Close does nothing,
// so that a failed connect does not close the client's body. But when an
// HTTP/2 upstream ends its response while the request body is still open (a
// gRPC server returning a status mid-stream), closing the response body
// waits for the transport's body writer, which is blocked reading the
// client's body until the client sends more or gives up (golang/go#80085,
// golang/go#48908): the status and trailers never reach the client. Once
// streamBody has been read from, its Close also closes the client's HTTP/2
// request body, which unblocks that Read. A body never read (connect
// failure) is left alone, so it can still be sent to the fallback version.
type streamBody struct {
	rc io.ReadCloser // the body as ReverseProxy hands it to the transport
	in *http.Request // the client's request

	mu     sync.Mutex
	read   bool
	closed bool
	cerr   *httperr.ClientError // the first error reading the client's body
}

var errBodyClosed = errors.New("proxy: read on closed request body")

func (b *streamBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return 0, errBodyClosed
	}
	b.read = true
	b.mu.Unlock()
	n, err := b.rc.Read(p)
	if err != nil && err != io.EOF {
		// Every error reading the client's body is the client's (or its
		// network's): marked so, it is answered 4xx and never counted
		// against the upstream the body was going to.
		ce := httperr.ClientBody(err)
		b.mu.Lock()
		if b.cerr == nil {
			b.cerr = ce
		}
		b.mu.Unlock()
		return n, ce
	}
	return n, err
}

// clientErr is the error the client's body failed with, if it did.
func (b *streamBody) clientErr() *httperr.ClientError {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cerr
}

// Close closes the client's body when this body was read from and the
// client speaks HTTP/2 (whose request body Close unblocks a pending Read;
// an HTTP/1 body's Close would wait for it instead).
func (b *streamBody) Close() error {
	b.mu.Lock()
	read := b.read
	b.closed = true
	b.mu.Unlock()
	if read && b.in.ProtoMajor >= 2 && b.in.Body != nil {
		_ = b.in.Body.Close()
	}
	return nil
}

func (b *streamBody) wasRead() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.read
}

func failed(resp *http.Response, err error) bool {
	return err != nil || resp.StatusCode >= 500
}

func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete, http.MethodTrace:
		return true
	}
	return false
}
