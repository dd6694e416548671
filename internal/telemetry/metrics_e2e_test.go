package telemetry_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/telemetry"
	"github.com/turnout-gw/turnout/internal/testutil"
)

// metricsConfig has a service with a rollout at weight 10 and a mirror
// block, and a service whose rollout sends everything to a v2 that is down,
// with fallback to v1.
const metricsConfig = `
state: memory
upstreams:
  users-v1: { targets: [{{V1}}] }
  users-v2: { targets: [{{V2}}] }
  orders-v1: { targets: [{{V1}}] }
  orders-v2: { targets: [{{DOWN}}] }
services:
  users:
    match: { path_prefix: /users }
    default: v1
    versions:
      v1: { upstream: users-v1 }
      v2: { upstream: users-v2 }
    rollout: { from: v1, to: v2, weight: 10 }
    mirror: { to: v2, percent: 100 }
  orders:
    match: { path_prefix: /orders }
    default: v1
    versions:
      v1: { upstream: orders-v1 }
      v2: { upstream: orders-v2 }
    rollout: { from: v1, to: v2, weight: 100 }
    fallback: true
`

// downURL returns the URL of a server that was closed: connecting to it is
// refused.
func downURL(t *testing.T) string {
	s := httptest.NewServer(http.NotFoundHandler())
	u := s.URL
	s.Close()
	return u
}

// TestMetricsEndToEnd starts a real Turnout, sends bounded real traffic of
// every kind, and checks every SPEC metric in a parsed scrape of the admin
// port's /metrics.
func TestMetricsEndToEnd(t *testing.T) {
	v1, v2 := testutil.VersionServer(t, "v1"), testutil.VersionServer(t, "v2")
	tt := testutil.Start(t, metricsConfig, map[string]string{"V1": v1.URL, "V2": v2.URL, "DOWN": downURL(t)})
	c := &http.Client{Timeout: 5 * time.Second}
	metrics := tt.AdminURL + "/metrics"

	// Present before any traffic: weights, zero rollbacks, zero mirror
	// comparisons, zero reloads, runtime and process collectors.
	s := scrapeURL(t, metrics)
	s.expect(t, 10, "turnout_rollout_weight", "service=users")
	s.expect(t, 100, "turnout_rollout_weight", "service=orders")
	s.expect(t, 0, "turnout_rollbacks_total", "service=users")
	for _, res := range []string{"match", "diff", "error"} {
		s.expect(t, 0, "turnout_mirror_compared_total", "service=users", "result="+res)
	}
	if s.find("turnout_mirror_compared_total", "service=orders", "result=match") != nil {
		t.Error("turnout_mirror_compared_total has series for orders, which has no mirror block")
	}
	s.expect(t, 0, "turnout_config_reloads_total", "result=success")
	s.expect(t, 0, "turnout_config_reloads_total", "result=failure")
	s.expect(t, 0, "turnout_decisions_total", "service=users", "reason=pinned")
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total"} {
		if s[name] == nil {
			t.Errorf("%s is missing: no Go runtime or process collector", name)
		}
	}

	const pinned, unpinned, unknown, notAcceptable, fellBack = 30, 20, 5, 4, 3
	for range pinned {
		if code, served, _ := testutil.Get(t, c, tt.URL+"/users/1", "X-API-Version: v2"); code != 200 || served != "v2" {
			t.Fatalf("pinned request: %d served by %q", code, served)
		}
	}
	s = scrapeURL(t, metrics)
	s.expect(t, pinned, "turnout_requests_total", "service=users", "version=v2", "code=200")
	s.expect(t, pinned, "turnout_request_duration_seconds", "service=users", "version=v2")
	s.expect(t, pinned, "turnout_decisions_total", "service=users", "reason=pinned")
	if m := s.find("turnout_requests_total", "service=users", "version=v1", "code=200"); m != nil {
		t.Errorf("requests pinned to v2 were counted for v1: %v", m)
	}
	for range unpinned {
		if code, _, _ := testutil.Get(t, c, tt.URL+"/users/1"); code != 200 {
			t.Fatalf("unpinned request: %d", code)
		}
	}
	for range unknown {
		if code, _, _ := testutil.Get(t, c, tt.URL+"/nowhere"); code != 404 {
			t.Fatalf("unknown service: %d", code)
		}
	}
	for range notAcceptable {
		if code, _, _ := testutil.Get(t, c, tt.URL+"/users/1", "X-API-Version: v9"); code != 406 {
			t.Fatalf("undeclared version: %d", code)
		}
	}
	for range fellBack {
		if code, served, _ := testutil.Get(t, c, tt.URL+"/orders/1"); code != 200 || served != "v1" {
			t.Fatalf("fallback request: %d served by %q", code, served)
		}
	}
	tt.App.Metrics.ObserveMirror("users", telemetry.MirrorDiff)

	s = scrapeURL(t, metrics)
	s.expect(t, pinned, "turnout_decisions_total", "service=users", "reason=pinned")
	s.expect(t, unpinned, "turnout_decisions_total", "service=users", "reason=rollout")
	s.expect(t, 0, "turnout_decisions_total", "service=users", "reason=fallback")
	v1n := s.value(t, "turnout_request_duration_seconds", "service=users", "version=v1")
	v2n := s.value(t, "turnout_request_duration_seconds", "service=users", "version=v2")
	if v1n+v2n != pinned+unpinned || v2n < pinned {
		t.Errorf("duration counts v1=%v v2=%v, want %d in all with at least %d for v2", v1n, v2n, pinned+unpinned, pinned)
	}
	for v, n := range map[string]float64{"v1": v1n, "v2": v2n} {
		if c := s.value(t, "turnout_requests_total", "service=users", "version="+v, "code=200"); c != n {
			t.Errorf("requests{users,%s,200} = %v, histogram count %v", v, c, n)
		}
	}
	s.expect(t, unknown, "turnout_requests_total", "service=", "version=", "code=404")
	s.expect(t, unknown, "turnout_request_duration_seconds", "service=", "version=")
	s.expect(t, notAcceptable, "turnout_requests_total", "service=users", "version=", "code=406")
	// A request that fell back counts once, for the version that answered,
	// under reason fallback.
	s.expect(t, fellBack, "turnout_requests_total", "service=orders", "version=v1", "code=200")
	s.expect(t, fellBack, "turnout_decisions_total", "service=orders", "reason=fallback")
	s.expect(t, 0, "turnout_decisions_total", "service=orders", "reason=rollout")
	if m := s.find("turnout_requests_total", "service=orders", "version=v2", "code=502"); m != nil {
		t.Errorf("the failed attempt of a request that fell back was counted as a request: %v", m)
	}
	s.expect(t, 1, "turnout_mirror_compared_total", "service=users", "result=diff")
	if m := s.find("turnout_request_duration_seconds", "service=users", "version=v2"); m != nil {
		h := m.GetHistogram()
		if h.GetSampleSum() <= 0 || len(h.GetBucket()) != len(telemetry.DurationBuckets)+1 {
			t.Errorf("histogram sum %v with %d buckets, want > 0 with %d (+Inf included)", h.GetSampleSum(), len(h.GetBucket()), len(telemetry.DurationBuckets)+1)
		}
	}

	// Reloads and a rollback.
	post(t, c, tt.AdminURL+"/api/v1/reload", http.StatusOK)
	post(t, c, tt.AdminURL+"/api/v1/rollouts/users/abort", http.StatusOK)
	s = scrapeURL(t, metrics)
	s.expect(t, 1, "turnout_config_reloads_total", "result=success")
	s.expect(t, 0, "turnout_config_reloads_total", "result=failure")
	s.expect(t, 1, "turnout_rollbacks_total", "service=users")
	s.expect(t, 0, "turnout_rollout_weight", "service=users")
	s.expect(t, v2n, "turnout_requests_total", "service=users", "version=v2", "code=200")

	// A broken file: the watcher's reload and the API's both fail.
	tt.Rewrite(t, "services: [\n", nil)
	testutil.Eventually(t, 5*time.Second, "the watcher's failed reload", func() bool {
		return scrapeURL(t, metrics).value(t, "turnout_config_reloads_total", "result=failure") >= 1
	})
	post(t, c, tt.AdminURL+"/api/v1/reload", http.StatusUnprocessableEntity)
	s = scrapeURL(t, metrics)
	if n := s.value(t, "turnout_config_reloads_total", "result=failure"); n < 2 {
		t.Errorf("reloads{failure} = %v after a failed watcher reload and a failed API reload, want ≥ 2", n)
	}
	s.expect(t, 1, "turnout_config_reloads_total", "result=success")
	s.expect(t, 1, "turnout_rollbacks_total", "service=users")
}

func post(t *testing.T, c *http.Client, url string, want int) {
	t.Helper()
	resp, err := c.Post(url, "application/json", nil)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	resp.Body.Close()
	if resp.StatusCode != want {
		t.Fatalf("POST %s: %s, want %d", url, resp.Status, want)
	}
}
