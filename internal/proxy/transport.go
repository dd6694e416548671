package proxy

import (
	"bytes"
	"fmt"
	"io"
	"net/http"

	"github.com/turnout-gw/turnout/internal/route"
	"github.com/turnout-gw/turnout/internal/upstream"
)

// transport is the ReverseProxy's RoundTripper: it sends the request to the
// decided version's pool and, when the service has fallback on, retries a
// failed request once on the fallback version.
type transport struct{ h *Handler }

func (t transport) RoundTrip(out *http.Request) (*http.Response, error) {
	x := out.Context().Value(exchangeKey{}).(*exchange)
	v := x.d.Version
	fb := x.d.Service.Fallback
	retry := fb != nil && fb != v && x.d.Reason != route.ReasonPinned && out.Header.Get("Upgrade") == ""

	var body []byte
	if retry && out.Body != nil && out.Body != http.NoBody {
		limit := x.snap.FallbackBody
		if out.ContentLength > limit {
			retry = false
		} else {
			b, err := io.ReadAll(io.LimitReader(out.Body, limit+1))
			if err != nil {
				return nil, fmt.Errorf("reading request body: %w", err)
			}
			if int64(len(b)) > limit {
				// Too large to keep: stream what was read plus the rest.
				out.Body = struct {
					io.Reader
					io.Closer
				}{io.MultiReader(bytes.NewReader(b), out.Body), out.Body}
				retry = false
			} else {
				_ = out.Body.Close()
				body = b
				setBody(out, body)
			}
		}
	}

	resp, err := t.h.attempt(x, v, out)
	if !retry || !failed(resp, err) || out.Context().Err() != nil {
		return resp, err
	}
	if err != nil && !idempotent(out.Method) && !upstream.IsConnectError(err) {
		return resp, err
	}
	if err == nil && !idempotent(out.Method) {
		return resp, err
	}
	if resp != nil {
		drain(resp.Body)
	}
	again := out.Clone(out.Context())
	if body != nil {
		setBody(again, body)
	}
	x.fellBack = true
	return t.h.attempt(x, fb, again)
}

// attempt sends out to version v's pool and reports it to the observer.
func (h *Handler) attempt(x *exchange, v *route.Version, out *http.Request) (*http.Response, error) {
	pool := x.snap.Pools[v.Upstream]
	x.served, x.upstream = v, v.Upstream
	if pool == nil {
		return nil, fmt.Errorf("no upstream pool %q for version %s", v.Upstream, v.Name)
	}
	out.Header.Set("X-Turnout-Version", v.Name)
	start := h.now()
	resp, err := pool.RoundTrip(out)
	a := Attempt{Service: x.d.Service.Name, Version: v.Name, Upstream: v.Upstream, Err: err, Duration: h.now().Sub(start)}
	if resp != nil {
		a.Status = resp.StatusCode
	}
	h.obs.Attempted(&a)
	return resp, err
}

func setBody(r *http.Request, b []byte) {
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.ContentLength = int64(len(b))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
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
