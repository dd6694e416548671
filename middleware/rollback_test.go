package middleware_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/turnout-gw/turnout/internal/testutil"
	"github.com/turnout-gw/turnout/middleware"
)

func decode(t testing.TB, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
}

const rollbackYAML = `
upstreams:
  none: { targets: [http://127.0.0.1:9] }
services:
  users:
    match: { path_prefix: /users }
    default: v1
    versions: { v1: { upstream: none }, v2: { upstream: none } }
    rules:
      - name: testers
        match: { header: { X-Env: canary } }
        version: v2
    rollout:
      from: v1
      to: v2
      weight: 50
      analysis: { window: 10s, interval: 50ms, min_requests: 10, max_error_rate: 0.2 }
`

// TestRollbackInProcess: v2's handler starts failing; the in-process stats
// and rollout engine roll the split back to v1, the admin API mounted on
// the service's own mux shows it, and every unpinned request reaches v1.
func TestRollbackInProcess(t *testing.T) {
	var failing atomic.Bool
	v2 := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			http.Error(w, "broken", http.StatusInternalServerError)
			return
		}
		testutil.VersionHandler("v2").ServeHTTP(w, r)
	})
	h := start(t, rollbackYAML, nil, middleware.Versions{"v1": testutil.VersionHandler("v1"), "v2": v2},
		middleware.WithTick(20e6), middleware.WithoutWatch())
	mux := http.NewServeMux()
	mux.Handle("/turnout/", http.StripPrefix("/turnout", h.MW.AdminHandler()))
	mux.Handle("/", h.MW)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	c := &http.Client{}
	failing.Store(true)
	testutil.Eventually(t, waitFor, "rollback", func() bool {
		for i := 0; i < 20; i++ {
			testutil.Get(t, c, srv.URL+"/users/1", fmt.Sprintf("X-User-ID: u%d", i))
		}
		status, _, body := testutil.Get(t, c, srv.URL+"/turnout/api/v1/rollouts/users")
		return status == 200 && strings.Contains(body, `"rolled_back"`)
	})
	for i := 0; i < 50; i++ {
		if status, served, _ := testutil.Get(t, c, srv.URL+"/users/1", fmt.Sprintf("X-User-ID: u%d", i)); status != 200 || served != "v1" {
			t.Fatalf("after rollback: %d served by %q", status, served)
		}
	}
	// The audit log and the metrics are the proxy's.
	_, _, events := testutil.Get(t, c, srv.URL+"/turnout/api/v1/events?service=users")
	if !strings.Contains(events, "rolled_back") && !strings.Contains(events, "rollback") {
		t.Errorf("events lack the rollback: %s", events)
	}
	_, _, metrics := testutil.Get(t, c, srv.URL+"/turnout/metrics")
	for _, want := range []string{`turnout_rollbacks_total{service="users"} 1`, `turnout_requests_total{code="500",service="users",version="v2"}`,
		`turnout_decisions_total{reason="rollout",service="users"}`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// A person fixes v2 and sets the weight to 100 through the mounted
	// admin API: the in-process table follows at once.
	failing.Store(false)
	req := testutil.NewRequest(t, http.MethodPut, srv.URL+"/turnout/api/v1/rollouts/users/weight")
	req.Body = io.NopCloser(strings.NewReader(`{"weight": 100}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("PUT weight: %d", resp.StatusCode)
	}
	if _, served, _ := testutil.Get(t, c, srv.URL+"/users/1", "X-User-ID: u1"); served != "v2" {
		t.Fatalf("after weight 100: served by %q", served)
	}
}

// TestVersionFrom: the chosen handler sees the decision in its context,
// the request as an upstream sees it, and the response carries the served
// version.
func TestVersionFrom(t *testing.T) {
	var got middleware.Decision
	var path, turnoutVersion string
	see := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, ok := middleware.VersionFrom(r.Context())
		if !ok {
			t.Error("no decision in the handler's context")
		}
		got, path, turnoutVersion = d, r.URL.Path, r.Header.Get("X-Turnout-Version")
	})
	h := start(t, rollbackYAML, nil, middleware.Versions{"v1": see, "v2": see}, middleware.WithoutWatch())
	c := &http.Client{}
	cases := []struct {
		name    string
		path    string
		headers []string
		want    middleware.Decision
		path2   string
	}{
		{"rule", "/users/1", []string{"X-Env: canary"}, middleware.Decision{Service: "users", Version: "v2", Reason: "rule", Rule: "testers"}, "/users/1"},
		{"pinned by path", "/v1/users/7", nil, middleware.Decision{Service: "users", Version: "v1", Reason: "pinned", Requested: "v1"}, "/users/7"},
		{"pinned by header", "/users/1", []string{"X-API-Version: 2"}, middleware.Decision{Service: "users", Version: "v2", Reason: "pinned", Requested: "2"}, "/users/1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, served, _ := testutil.Get(t, c, h.URL+tc.path, tc.headers...)
			if status != 200 || served != tc.want.Version || got != tc.want || path != tc.path2 || turnoutVersion != tc.want.Version {
				t.Fatalf("got %d served %q decision %+v path %q X-Turnout-Version %q; want %+v path %q", status, served, got, path, turnoutVersion, tc.want, tc.path2)
			}
		})
	}
	if _, ok := middleware.VersionFrom(t.Context()); ok {
		t.Error("a decision outside a routed request")
	}
}

// TestFallthrough: requests no service matches reach the fallthrough
// handler; without one they get Turnout's 404.
func TestFallthrough(t *testing.T) {
	other := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	h := start(t, rollbackYAML, nil, middleware.Versions{"v1": other, "v2": other}, middleware.WithoutWatch(),
		middleware.WithFallthrough(other))
	if status, _, _ := testutil.Get(t, &http.Client{}, h.URL+"/orders/1"); status != http.StatusTeapot {
		t.Fatalf("unmatched request: %d, want the fallthrough's 418", status)
	}
}

// TestReloadThroughAdmin: with the watcher off, POST /api/v1/reload on the
// mounted admin API applies the edited file; a broken file is rejected
// with its FILE:LINE:COL errors and the last good one keeps serving.
func TestReloadThroughAdmin(t *testing.T) {
	vs := middleware.Versions{"v1": testutil.VersionHandler("v1"), "v2": testutil.VersionHandler("v2")}
	h := start(t, rollbackYAML, nil, vs, middleware.WithoutWatch())
	c := &http.Client{}
	h.rewrite(t, strings.Replace(rollbackYAML, "X-Env: canary", "X-Env: beta", 1), nil)
	post := func() (int, string) {
		rec := httptest.NewRecorder()
		h.MW.AdminHandler().ServeHTTP(rec, adminRequest(http.MethodPost, "/api/v1/reload"))
		return rec.Code, rec.Body.String()
	}
	if code, body := post(); code != 200 {
		t.Fatalf("reload: %d %s", code, body)
	}
	if _, served, _ := testutil.Get(t, c, h.URL+"/users/1", "X-Env: beta"); served != "v2" {
		t.Fatalf("the reloaded rule did not apply: served by %s", served)
	}
	h.rewrite(t, rollbackYAML+"  bogus: 1\n", nil)
	if code, body := post(); code != http.StatusUnprocessableEntity || !strings.Contains(body, "turnout.yaml:") {
		t.Fatalf("broken file: %d %s", code, body)
	}
	if err := h.MW.Reload(); err == nil {
		t.Fatal("Reload accepted a broken file")
	}
	if _, served, _ := testutil.Get(t, c, h.URL+"/users/1", "X-Env: beta"); served != "v2" {
		t.Fatalf("the last good configuration stopped serving: %s", served)
	}
}

// adminRequest is an action on the mounted admin API as the CLI sends it:
// to a loopback name, with a JSON Content-Type.
func adminRequest(method, path string) *http.Request {
	r := httptest.NewRequest(method, "http://localhost"+path, nil)
	r.Header.Set("Content-Type", "application/json")
	return r
}
