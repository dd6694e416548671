package middleware_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/turnout-gw/turnout/internal/testutil"
	"github.com/turnout-gw/turnout/internal/testutil/etcdtest"
	"github.com/turnout-gw/turnout/middleware"
)

const fleetYAML = `
state: memory
cluster: { etcd: { endpoints: [{{ETCD}}], prefix: /pods }, member: {{NAME}}, advertise: "{{ADVERTISE}}", lease: 1s }
upstreams:
  none: { targets: [http://127.0.0.1:9] }
services:
  users:
    match: { path_prefix: /users }
    default: v1
    versions: { v1: { upstream: none }, v2: { upstream: none } }
    rollout:
      from: v1
      to: v2
      weight: 50
      analysis: { window: 10s, interval: 50ms, min_requests: 10, max_error_rate: 0.2 }
`

// TestPodsRollBackTogether: three pods of a service run the middleware
// with one cluster block, each serving its admin API where it advertises
// it (the leader pulls every pod's stats from there, with the token all
// pods share); v2 fails in every pod; the leader's rollback sends every
// pod's unpinned requests to v1.
func TestPodsRollBackTogether(t *testing.T) {
	t.Setenv("TURNOUT_ADMIN_TOKEN", "pods-admin-token-0123456789")
	srv := etcdtest.Start(t)
	var failing atomic.Bool
	v2 := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			http.Error(w, "broken", http.StatusInternalServerError)
			return
		}
		testutil.VersionHandler("v2").ServeHTTP(w, r)
	})
	var pods []*harness
	for _, name := range []string{"pod-a", "pod-b", "pod-c"} {
		admin := httptest.NewUnstartedServer(nil)
		p := start(t, fleetYAML, map[string]string{"ETCD": srv.Endpoint, "NAME": name, "ADVERTISE": "http://" + admin.Listener.Addr().String()},
			middleware.Versions{"v1": testutil.VersionHandler("v1"), "v2": v2}, middleware.WithTick(20e6), middleware.WithoutWatch())
		admin.Config.Handler = p.MW.AdminHandler()
		admin.Start()
		t.Cleanup(admin.Close)
		pods = append(pods, p)
	}
	c := &http.Client{}
	failing.Store(true)
	testutil.Eventually(t, waitFor, "every pod to roll back", func() bool {
		for _, p := range pods {
			for i := range 10 {
				testutil.Get(t, c, p.URL+"/users/1", fmt.Sprintf("X-User-ID: u%d", i))
			}
		}
		for _, p := range pods {
			if code, body := adminGet(p, "/api/v1/rollouts/users"); code != 200 || !strings.Contains(body, `"rolled_back"`) {
				return false
			}
		}
		return true
	})
	for _, p := range pods {
		for i := range 20 {
			if status, served, _ := testutil.Get(t, c, p.URL+"/users/1", fmt.Sprintf("X-User-ID: u%d", i)); status != 200 || served != "v1" {
				t.Fatalf("%s after the rollback: %d served by %q", p.URL, status, served)
			}
		}
	}
	for _, p := range pods {
		code, body := adminGet(p, "/api/v1/events?service=users")
		if n := len(rollbackEvent.FindAllString(body, -1)); code != 200 || n != 1 {
			t.Fatalf("%s: %d rollback events in the fleet's log, want one: %d %s", p.URL, n, code, body)
		}
	}
}

var rollbackEvent = regexp.MustCompile(`"type":\s*"rollback"`)

// adminGet reads path from p's admin API in process.
func adminGet(p *harness, path string) (int, string) {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Host = "127.0.0.1"
	rec := httptest.NewRecorder()
	p.MW.AdminHandler().ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}
