package gateway_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/gateway"
	"github.com/turnout-gw/turnout/internal/testutil"
	"github.com/turnout-gw/turnout/internal/testutil/etcdtest"
	"github.com/turnout-gw/turnout/internal/testutil/testclock"
	"github.com/turnout-gw/turnout/internal/testutil/wait"
)

const fleetScheduleYAML = `
log: { level: error }
state: memory
admin: { listen: 127.0.0.1:0, token_env: TURNOUT_TEST_SCHEDULE_TOKEN }
cluster: { etcd: { endpoints: [{{ETCD}}], prefix: /life }, member: {{NAME}}, lease: 1s }
upstreams:
  users-v1: { targets: [{{V1}}] }
  users-v2: { targets: [{{V2}}] }
services:
  users:
    match: { path_prefix: /users }
    clients: { key: header:X-Client }
    default: v2
    versions:
      v2: { upstream: users-v2 }
      v1:
        upstream: users-v1
        successor: v2
        schedule: [ { at: 2027-04-01T00:00:00Z, lifecycle: gone } ]
        hold_while: { requests: 1, window: 10m }
      v0:
        upstream: users-v1
        successor: v2
        schedule: [ { at: 2027-04-01T00:00:00Z, lifecycle: gone } ]
        hold_while: { requests: 1, window: 10m }
`

// getVersion asks for version through the data plane as client and
// returns the status.
func getVersion(t *testing.T, base, version, client string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/users/1", nil)
	req.Header.Set("X-API-Version", version)
	req.Header.Set("X-Client", client)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// versionView is a version's lifecycle and hold reason in a member's
// /api/v1/services.
func versionView(t *testing.T, adminURL, version string) (lifecycle, hold string) {
	t.Helper()
	var list struct {
		Services []struct {
			Versions []struct {
				Name       string `json:"name"`
				Lifecycle  string `json:"lifecycle"`
				HoldReason string `json:"hold_reason"`
			} `json:"versions"`
		} `json:"services"`
	}
	adminJSON(t, http.MethodGet, adminURL+"/api/v1/services", &list)
	for _, s := range list.Services {
		for _, v := range s.Versions {
			if v.Name == version {
				return v.Lifecycle, v.HoldReason
			}
		}
	}
	return "", ""
}

// bothAnswer waits until both members answer version with code.
func bothAnswer(t *testing.T, members []*testutil.Turnout, version string, code int) {
	t.Helper()
	wait.ForErr(t, 15*time.Second, fmt.Sprintf("%s answered %d by both members", version, code), func() error {
		for i, m := range members {
			if got := getVersion(t, m.URL, version, "probe-"+fmt.Sprint(i)); got != code {
				return fmt.Errorf("member %d answered %d", i, got)
			}
		}
		return nil
	})
}

// TestFleetFollowsTheLeadersSchedule: two members on one clock; clients
// call v1 and v0 only through the follower. The leader holds gone naming
// them (it reads the follower's usage); a force of v0 sent to the
// follower is followed by the leader; once v1 is quiet the leader
// applies gone and both members answer 410.
func TestFleetFollowsTheLeadersSchedule(t *testing.T) {
	t.Setenv("TURNOUT_TEST_SCHEDULE_TOKEN", "s3cret")
	srv := etcdtest.Start(t)
	clk := testclock.New(time.Date(2027, 3, 31, 23, 55, 0, 0, time.UTC))
	vars := map[string]string{"ETCD": srv.Endpoint, "V1": testutil.VersionServer(t, "v1").URL, "V2": testutil.VersionServer(t, "v2").URL}
	byName := map[string]*testutil.Turnout{}
	for _, name := range []string{"gw-a", "gw-b"} {
		vars["NAME"] = name
		byName[name] = testutil.StartWith(t, fleetScheduleYAML, vars, gateway.AppOptions{Now: clk.Now, Tick: 50 * time.Millisecond})
	}
	var leader string
	wait.ForErr(t, 15*time.Second, "a leader and two members", func() error {
		var v struct {
			Leader  string                  `json:"leader"`
			Members []struct{ Name string } `json:"members"`
		}
		adminJSON(t, http.MethodGet, byName["gw-a"].AdminURL+"/api/v1/cluster", &v)
		if v.Leader == "" || len(v.Members) != 2 {
			return fmt.Errorf("view %+v", v)
		}
		leader = v.Leader
		return nil
	})
	lead, follow := byName["gw-a"], byName["gw-b"]
	if leader == "gw-b" {
		lead, follow = follow, lead
	}
	both := []*testutil.Turnout{lead, follow}
	// The leader asks the members it last read: wait until it has read
	// the follower, or its guard would count its own traffic only.
	wait.ForErr(t, 15*time.Second, "the leader to list both members", func() error {
		req, _ := http.NewRequest(http.MethodGet, lead.AdminURL+"/metrics", nil)
		req.Header.Set("Authorization", "Bearer s3cret")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if !strings.Contains(string(b), "\nturnout_cluster_members 2\n") {
			return fmt.Errorf("status %d, no turnout_cluster_members 2", resp.StatusCode)
		}
		return nil
	})

	for _, v := range []string{"v1", "v0"} {
		if code := getVersion(t, follow.URL, v, "client-f"); code != http.StatusOK {
			t.Fatalf("%s through the follower: %d", v, code)
		}
	}
	clk.Advance(5 * time.Minute) // gone is due, and held by the follower's client
	wait.ForErr(t, 15*time.Second, "the leader holds gone naming the follower's client", func() error {
		lc, hold := versionView(t, lead.AdminURL, "v1")
		if lc != "active" || !strings.Contains(hold, "by client-f") {
			return fmt.Errorf("leader's v1: %s, hold %q", lc, hold)
		}
		return nil
	})
	bothAnswer(t, both, "v1", http.StatusOK)

	// A force sent to the follower is followed by the leader.
	req, _ := http.NewRequest(http.MethodPost, follow.AdminURL+"/api/v1/lifecycle/users/v0/force", nil)
	req.Header.Set("Authorization", "Bearer s3cret")
	forced := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("force v0 through the follower: %v %v", resp, err)
	}
	resp.Body.Close()
	wait.For(t, 15*time.Second, "the leader answers 410 for the forced v0", func() bool {
		return getVersion(t, lead.URL, "v0", "probe") == http.StatusGone
	})
	t.Logf("the leader followed the follower's force in %v", time.Since(forced).Round(time.Millisecond))
	bothAnswer(t, both, "v0", http.StatusGone)
	if lc, _ := versionView(t, lead.AdminURL, "v1"); lc != "active" {
		t.Fatalf("leader's v1 after v0's force: %s, want active (still held)", lc)
	}

	// Quiet: the window passes without a call; the leader applies gone,
	// and both members answer 410.
	clk.Advance(12 * time.Minute)
	applied := time.Now()
	wait.For(t, 15*time.Second, "the leader applies gone", func() bool {
		lc, _ := versionView(t, lead.AdminURL, "v1")
		return lc == "gone"
	})
	bothAnswer(t, both, "v1", http.StatusGone)
	t.Logf("both members answered 410 %v after the window passed", time.Since(applied).Round(time.Millisecond))
}
