package upstream

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/turnout-gw/turnout/internal/httperr"
)

// TestMaxConnections: a target with max_connections requests in flight is
// passed over; with every target full a request fails at once with 503 and
// ErrAtCapacity; closing a response body frees its slot.
func TestMaxConnections(t *testing.T) {
	hits := map[string]int{}
	srv := func(name string) *httptest.Server {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Target", name)
			w.WriteHeader(200)
			_, _ = w.Write([]byte(name))
		}))
		t.Cleanup(s.Close)
		return s
	}
	a, b := srv("a"), srv("b")
	spec := upstreamSpec("", a.URL, b.URL)
	spec.MaxConnections = 2
	p := mustPool(t, spec)

	var open []*http.Response
	for i := 0; i < 4; i++ { // bodies left open: two slots on each target
		resp, err := p.RoundTrip(newReq(t, http.MethodGet, "/"))
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		hits[resp.Header.Get("X-Target")]++
		open = append(open, resp)
	}
	if hits["a"] != 2 || hits["b"] != 2 {
		t.Errorf("spread %v, want 2 and 2", hits)
	}
	_, err := p.RoundTrip(newReq(t, http.MethodGet, "/"))
	if !errors.Is(err, ErrAtCapacity) || httperr.StatusOf(t.Context(), err) != http.StatusServiceUnavailable {
		t.Fatalf("fifth request: %v (status %d), want ErrAtCapacity with 503", err, httperr.StatusOf(t.Context(), err))
	}
	open[0].Body.Close()
	open[0].Body.Close() // twice frees one slot only
	resp, err := p.RoundTrip(newReq(t, http.MethodGet, "/"))
	if err != nil {
		t.Fatalf("after a body was closed: %v", err)
	}
	open = append(open[1:], resp)
	if _, err := p.RoundTrip(newReq(t, http.MethodGet, "/")); !errors.Is(err, ErrAtCapacity) {
		t.Fatalf("a double close freed two slots: %v", err)
	}
	for _, r := range open {
		r.Body.Close()
	}
	for _, tg := range p.targets {
		if n := tg.inflight.Load(); n != 0 {
			t.Errorf("target %s: %d in flight after every body closed", tg.raw, n)
		}
	}
}

// TestMaxConnectionsFailedRequestFreesSlot: a transport error frees its
// slot at once.
func TestMaxConnectionsFailedRequestFreesSlot(t *testing.T) {
	spec := upstreamSpec("", "http://127.0.0.1:1")
	spec.MaxConnections = 1
	p := mustPool(t, spec)
	for i := 0; i < 3; i++ {
		if _, err := p.RoundTrip(newReq(t, http.MethodGet, "/")); err == nil || errors.Is(err, ErrAtCapacity) {
			t.Fatalf("request %d: %v, want a connect error", i, err)
		}
	}
}
