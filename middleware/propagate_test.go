package middleware_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/turnout-gw/turnout/internal/testutil"
	"github.com/turnout-gw/turnout/middleware"
	testpb "google.golang.org/grpc/interop/grpc_testing"
)

// TestTransportPropagates: an HTTP call made with a routed request's
// context through mw.Transport carries the caller's version, the colour
// keys of the configuration (rule header, sticky key), WithPropagate keys
// and trace context; headers the caller set itself are kept, and other
// headers are not copied.
func TestTransportPropagates(t *testing.T) {
	var seen http.Header
	next := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = r.Header.Clone() }))
	defer next.Close()
	var mw *middleware.Middleware
	call := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, next.URL, nil)
		req.Header.Set("X-User-ID", "set-by-caller")
		resp, err := (&http.Client{Transport: mw.Transport(nil)}).Do(req)
		if err != nil {
			t.Error(err)
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	})
	h := start(t, grpcYAML, map[string]string{"WEIGHT": "0"}, middleware.Versions{"v1": call, "v2": call},
		middleware.WithoutWatch(), middleware.WithPropagate("X-Tenant"))
	mw = h.MW
	testutil.Get(t, &http.Client{}, h.URL+"/grpc.testing.TestService/UnaryCall", "X-Env: canary", "X-User-ID: u1",
		"X-Tenant: acme", "Traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "X-Private: no")
	want := map[string]string{"X-Turnout-Version": "v2", "X-Env": "canary", "X-User-Id": "set-by-caller", "X-Tenant": "acme",
		"Traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "X-Private": ""}
	for k, v := range want {
		if got := strings.Join(seen.Values(k), ","); got != v {
			t.Errorf("%s = %q at the next hop, want %q", k, got, v)
		}
	}
}

// TestGRPCFailuresCount: a version's gRPC error statuses are recorded as
// their HTTP equivalents (Internal → 500, a failure for the analysis;
// NotFound → 404, not one) in the metrics served by the admin API.
func TestGRPCFailuresCount(t *testing.T) {
	h := start(t, grpcYAML, map[string]string{"WEIGHT": "0"}, nil, middleware.WithoutWatch())
	client := grpcServe(t, h.MW, echoImpls())
	for _, code := range []int32{13, 5, 0} {
		_, _ = client.UnaryCall(md(t, "x-api-version", "2"), &testpb.SimpleRequest{ResponseStatus: &testpb.EchoStatus{Code: code}})
	}
	rec := httptest.NewRecorder()
	h.MW.AdminHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://localhost/metrics", nil))
	for _, want := range []string{`turnout_requests_total{code="500",service="echo",version="v2"} 1`,
		`turnout_requests_total{code="404",service="echo",version="v2"} 1`, `turnout_requests_total{code="200",service="echo",version="v2"} 1`,
		`turnout_decisions_total{reason="pinned",service="echo"} 3`} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
