package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"

	"github.com/turnout-gw/turnout/internal/testutil"
	"github.com/turnout-gw/turnout/internal/testutil/routecases"
	"github.com/turnout-gw/turnout/middleware"
)

// faultSeries reads turnout_faults_injected_total for service's version
// and kind from mw's admin API, as Prometheus scrapes it ("" when the
// series does not exist).
func faultSeries(t *testing.T, mw *middleware.Middleware, version, kind string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	mw.AdminHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://127.0.0.1/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics: %d %s", rec.Code, rec.Body)
	}
	prefix := `turnout_faults_injected_total{kind="` + kind + `",service="users",version="` + version + `"} `
	for _, l := range strings.Split(rec.Body.String(), "\n") {
		if v, ok := strings.CutPrefix(l, prefix); ok {
			return v
		}
	}
	return ""
}

// TestFaultsCounted: a fault the middleware injects is counted in
// turnout_faults_injected_total by service, version and kind, as the
// proxy counts its own, through the HTTP handler and the gRPC
// interceptors alike.
func TestFaultsCounted(t *testing.T) {
	t.Run("http", func(t *testing.T) {
		h := start(t, routecases.FaultYAML, routingVars("0"), middleware.Versions{"v1": testutil.VersionHandler("v1"), "v2": testutil.VersionHandler("v2")}, middleware.WithoutWatch())
		for _, hdr := range [][]string{nil, nil, {"X-Env: faulty-v2"}, {"X-API-Version: 2"}} {
			if status, _, _ := testutil.Get(t, http.DefaultClient, h.URL+"/users/1", hdr...); status == 0 {
				t.Fatal("no answer")
			}
		}
		if got := faultSeries(t, h.MW, "v1", "abort"); got != "2" {
			t.Errorf("v1 aborts counted %q, want 2", got)
		}
		if got := faultSeries(t, h.MW, "v2", "abort"); got != "1" {
			t.Errorf("v2 aborts counted %q, want 1 (the rule's)", got)
		}
	})
	t.Run("grpc", func(t *testing.T) {
		text := strings.Replace(routecases.FaultYAML, "path_prefix: /users", "path_prefix: /grpc.testing.TestService", 1)
		mw := start(t, text, routingVars("0"), nil, middleware.WithoutWatch()).MW
		client := grpcServe(t, mw, echoImpls())
		if _, err := client.UnaryCall(md(t), &testpb.SimpleRequest{}); status.Code(err) != codes.Unavailable {
			t.Fatalf("unary: %v, want the injected abort", err)
		}
		stream, err := client.FullDuplexCall(md(t, "x-env", "faulty-v2"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := stream.Recv(); status.Code(err) != codes.Unavailable {
			t.Fatalf("stream: %v, want the injected abort", err)
		}
		if got := faultSeries(t, mw, "v1", "abort"); got != "1" {
			t.Errorf("v1 aborts counted %q, want 1", got)
		}
		if got := faultSeries(t, mw, "v2", "abort"); got != "1" {
			t.Errorf("v2 aborts counted %q, want 1", got)
		}
	})
}
