package middleware_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/testutil"
	"github.com/turnout-gw/turnout/internal/testutil/routecases"
	"github.com/turnout-gw/turnout/internal/testutil/wait"
	"github.com/turnout-gw/turnout/internal/usage"
	"github.com/turnout-gw/turnout/middleware"
)

// quiet is a logger that drops everything.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// harness is a middleware serving a configuration file on a real
// listener: the in-process side of the shared routing cases.
type harness struct {
	MW   *middleware.Middleware
	Path string
	URL  string
}

// start writes text (expanded with vars) to a temp file and serves it with
// versions through the middleware on 127.0.0.1:0; everything is stopped by
// t.Cleanup.
func start(t testing.TB, text string, vars map[string]string, versions middleware.Versions, opts ...middleware.Option) *harness {
	t.Helper()
	path := filepath.Join(t.TempDir(), "turnout.yaml")
	if err := os.WriteFile(path, []byte(testutil.Expand(text, vars)), 0o644); err != nil {
		t.Fatal(err)
	}
	opts = append([]middleware.Option{middleware.WithLogger(quiet)}, opts...)
	mw, err := middleware.New(middleware.File(path), versions, opts...)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mw)
	t.Cleanup(func() {
		srv.Close()
		if err := mw.Close(); err != nil {
			t.Error(err)
		}
	})
	return &harness{MW: mw, Path: path, URL: srv.URL}
}

// rewrite replaces the file atomically, as an editor would.
func (h *harness) rewrite(t *testing.T, text string, vars map[string]string) {
	t.Helper()
	tmp := h.Path + ".tmp"
	if err := os.WriteFile(tmp, []byte(testutil.Expand(text, vars)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, h.Path); err != nil {
		t.Fatal(err)
	}
}

// versionHandlers serves every version of routecases.YAML in process.
func versionHandlers() middleware.Versions {
	vs := middleware.Versions{}
	for _, v := range routecases.Versions {
		vs[v] = testutil.VersionHandler(v)
	}
	return vs
}

// routingVars: the upstream URLs are required by the format and unused.
func routingVars(weight string) map[string]string {
	return map[string]string{"V1": "http://127.0.0.1:9", "V2": "http://127.0.0.1:9", "WEIGHT": weight}
}

// TestPins runs the proxy's negotiation and lifecycle cases against the
// middleware.
func TestPins(t *testing.T) {
	h := start(t, routecases.YAML, routingVars("0"), versionHandlers())
	routecases.RunPins(t, h.URL)
}

// TestStickySplit runs the proxy's sticky split cases against the
// middleware; the weight is raised by rewriting the file it watches.
func TestStickySplit(t *testing.T) {
	vars := routingVars("10")
	h := start(t, routecases.YAML, vars, versionHandlers())
	routecases.RunStickySplit(t, h.URL, func(t *testing.T) {
		vars["WEIGHT"] = "30"
		h.rewrite(t, routecases.YAML, vars)
		testutil.Eventually(t, routecases.ReloadTimeout, "reload to weight 30", func() bool { return weightOf(t, h) == 30 })
	})
}

// weightOf reads the users rollout's weight through the admin API mounted
// on a mux of its own.
func weightOf(t *testing.T, h *harness) float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	h.MW.AdminHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://localhost/api/v1/rollouts/users", nil))
	var st struct {
		Weight float64 `json:"weight"`
	}
	decode(t, rec.Body.Bytes(), &st)
	return st.Weight
}

// TestNewRejectsUnknownHandlers: a handler for a version or service the
// configuration does not declare is a mistake New reports.
func TestNewRejectsUnknownHandlers(t *testing.T) {
	text := []byte(testutil.Expand(routecases.YAML, routingVars("0")))
	cases := []struct {
		name     string
		versions middleware.Versions
		opts     []middleware.Option
	}{
		{"version", middleware.Versions{"v3": testutil.VersionHandler("v3")}, nil},
		{"service", nil, []middleware.Option{middleware.WithService("orders", middleware.Versions{"v1": testutil.VersionHandler("v1")})}},
		{"service version", nil, []middleware.Option{middleware.WithService("users", middleware.Versions{"v9": testutil.VersionHandler("v9")})}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mw, err := middleware.New(middleware.YAML("inline.yaml", text), tc.versions, tc.opts...)
			if err == nil {
				mw.Close()
				t.Fatal("New accepted a handler the configuration does not declare")
			}
		})
	}
	if _, err := middleware.New(middleware.YAML("bad.yaml", []byte("services: {x: {}}")), nil); err == nil {
		t.Fatal("New accepted an invalid configuration")
	}
}

// waitFor bounds the tests' polling.
const waitFor = 10 * time.Second

// TestFaults runs the proxy's fault cases against the middleware: the
// decision's fault is injected before the handler runs.
func TestFaults(t *testing.T) {
	vs := middleware.Versions{"v1": testutil.VersionHandler("v1"), "v2": testutil.VersionHandler("v2")}
	h := start(t, routecases.FaultYAML, routingVars("0"), vs)
	routecases.RunFaults(t, h.URL)
}

// TestUsageCountsInProcess: the in-process middleware feeds the same usage
// counts as the proxy, under the version whose handler answered.
func TestUsageCountsInProcess(t *testing.T) {
	h := start(t, `
state: memory
upstreams: { u: { targets: [http://127.0.0.1:9] } }
services:
  users:
    match: { path_prefix: /users }
    negotiate: { sources: [header], header: X-API-Version }
    default: v2
    clients: { key: header:X-Client-ID }
    versions: { v1: { upstream: u }, v2: { upstream: u } }
`, nil, middleware.Versions{"v1": testutil.VersionHandler("v1"), "v2": testutil.VersionHandler("v2")})
	c := &http.Client{Timeout: 5 * time.Second}
	for i, version := range []string{"v1", "v1", "v2"} {
		status, _, _ := testutil.Get(t, c, h.URL+"/users/1", "X-API-Version: "+version, "X-Client-ID: "+[]string{"c0", "c1"}[i%2])
		if status != http.StatusOK {
			t.Fatalf("request %d: %d", i, status)
		}
	}
	admin := httptest.NewServer(h.MW.AdminHandler())
	defer admin.Close()
	var v usage.Version
	wait.For(t, 5*time.Second, "v1's two requests counted", func() bool {
		return testutil.GetJSON(t, admin.URL+"/api/v1/usage/users?version=v1", &v) == http.StatusOK && v.Requests == 2
	})
	if len(v.Clients) != 2 || v.Clients[0].Client != "c0" || v.Clients[1].Client != "c1" || v.Clients[0].Operations[0].Operation != "GET /users" {
		t.Errorf("v1 usage = %+v", v)
	}
}
