package gateway_test

import (
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/testutil"
	"github.com/turnout-gw/turnout/internal/testutil/etcdtest"
	"github.com/turnout-gw/turnout/internal/testutil/wait"
)

// fleetAnalysisYAML: a rollout at weight 50 whose analysis needs 20
// requests of `to` in its window; the step interval keeps it from
// stepping, so only a rollback moves it.
const fleetAnalysisYAML = `
state: memory
cluster: { etcd: { endpoints: [{{ETCD}}], prefix: /gwstats }, member: {{NAME}}, lease: 1s }
upstreams:
  v1: { targets: [{{V1}}] }
  v2: { targets: [{{V2}}] }
services:
  users:
    match: { path_prefix: /users }
    default: v1
    versions: { v1: { upstream: v1 }, v2: { upstream: v2 } }
    rollout: { from: v1, to: v2, weight: 50, steps: [50, 100], step_interval: 1h,
               analysis: { window: 5s, interval: 200ms, min_requests: 20, max_error_rate: 0.05 } }
`

// fleetToken is the admin token every member of the test fleets shares
// (admin.token_env's default variable).
const fleetToken = "fleet-test-token-0123456789"

// TestFleetAnalysisSeesFollowersTraffic: two gateways in one fleet; only
// the follower receives traffic, and its share of `to` fails every
// request. The leader, which alone analyses, has no traffic of its own
// (judged alone it would wait for min_requests forever); judged on the
// fleet's merged windows it rolls back, and both gateways serve weight 0.
// The leader's pulls show in turnout_cluster_stat_pulls_total, and GET
// /api/v1/cluster counts each member's requests.
func TestFleetAnalysisSeesFollowersTraffic(t *testing.T) {
	t.Setenv("TURNOUT_ADMIN_TOKEN", fleetToken)
	srv := etcdtest.Start(t)
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Upstream-Version", "v2")
		http.Error(w, `{"error":"broken"}`, http.StatusInternalServerError)
	}))
	t.Cleanup(failing.Close)
	vars := map[string]string{"ETCD": srv.Endpoint, "V1": testutil.VersionServer(t, "v1").URL, "V2": failing.URL}
	gws := map[string]*testutil.Turnout{}
	for _, name := range []string{"gw-a", "gw-b"} {
		vars["NAME"] = name
		gws[name] = testutil.Start(t, fleetAnalysisYAML, vars)
	}
	var leader, follower *testutil.Turnout
	testutil.Eventually(t, 15*time.Second, "both members and a leader", func() bool {
		var v struct {
			Leader  string          `json:"leader"`
			Members []clusterMember `json:"members"`
		}
		if testutil.GetJSON(t, gws["gw-a"].AdminURL+"/api/v1/cluster", &v) != http.StatusOK || len(v.Members) != 2 || v.Leader == "" {
			return false
		}
		leader = gws[v.Leader]
		follower = gws["gw-a"]
		if v.Leader == "gw-a" {
			follower = gws["gw-b"]
		}
		return true
	})
	c := &http.Client{Timeout: 5 * time.Second}
	sent := 0
	testutil.Eventually(t, 30*time.Second, "the leader to roll back on the follower's traffic", func() bool {
		for range 20 {
			sent++
			testutil.Get(t, c, follower.URL+"/users/1", "X-User-ID: u"+strconv.Itoa(sent))
		}
		return rolloutOf(t, leader).State == "rolled_back"
	})
	for name, g := range gws {
		testutil.Eventually(t, 15*time.Second, name+" at weight 0", func() bool {
			return g.App.Core.Configs.Snapshot().Table.Service("users").Rollout.Weight == 0
		})
	}
	if s := rolloutOf(t, leader); !strings.Contains(s.Reason, "error_rate") {
		t.Fatalf("rolled back for %q, want the error rate", s.Reason)
	}
	if n, _ := strconv.Atoi(testutil.Metric(t, leader, "turnout_cluster_stat_pulls_total")); n == 0 {
		t.Fatalf("the leader counted no stats pulls")
	}
	fname := "gw-a"
	if follower == gws["gw-b"] {
		fname = "gw-b"
	}
	want := map[string]string{"gw-a": "0", "gw-b": "0", fname: fmt.Sprint(sent)}
	// The last answers may be counted just after they are sent.
	wait.ForErr(t, 15*time.Second, "each member's own count in the view", func() error {
		var v struct {
			TrafficWindow string          `json:"traffic_window"`
			Members       []clusterMember `json:"members"`
		}
		testutil.GetJSON(t, leader.AdminURL+"/api/v1/cluster", &v)
		got := map[string]string{}
		for _, m := range v.Members {
			got[m.Name] = "none: " + m.TrafficError
			if m.Requests != nil {
				got[m.Name] = fmt.Sprint(*m.Requests)
			}
		}
		if v.TrafficWindow != "1m0s" || !maps.Equal(got, want) {
			return fmt.Errorf("traffic over %q: %v, want %v", v.TrafficWindow, got, want)
		}
		return nil
	})
}

// clusterMember is a member of GET /api/v1/cluster as these tests read it.
type clusterMember struct {
	Name         string `json:"name"`
	Requests     *int64 `json:"requests"`
	TrafficError string `json:"traffic_error"`
}

type rolloutView struct {
	State  string  `json:"state"`
	Weight float64 `json:"weight"`
	Reason string  `json:"reason"`
}

// rolloutOf reads users' rollout from g's admin API.
func rolloutOf(t *testing.T, g *testutil.Turnout) rolloutView {
	t.Helper()
	var s rolloutView
	testutil.GetJSON(t, g.AdminURL+"/api/v1/rollouts/users", &s)
	return s
}
