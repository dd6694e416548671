package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/testutil/etcdtest"
	"github.com/turnout-gw/turnout/internal/testutil/wait"
)

const fleetYAML = `
listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: memory
cluster: { etcd: { endpoints: [{{ETCD}}], prefix: /e2e }, member: {{NAME}}, lease: 1s }
upstreams:
  v1: { targets: [{{V1}}] }
  v2: { targets: [{{V2}}] }
services:
  users:
    match: { path_prefix: /users }
    default: v1
    versions: { v1: { upstream: v1 }, v2: { upstream: v2 } }
    rollout:
      from: v1
      to: v2
      weight: 10
      steps: [10, 25, 50, 100]
      step_interval: 2s
      analysis: { window: 5s, min_requests: 5, max_error_rate: 0.05 }
`

// leaderOf reads the leader from p's /api/v1/cluster ("" on any failure).
func leaderOf(p *proc) string {
	resp, err := http.Get(p.AdminURL + "/api/v1/cluster")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var v struct {
		Leader string `json:"leader"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&v) != nil {
		return ""
	}
	return v.Leader
}

// TestFleetLeaderKilled: two `turnout serve` members under load; the
// leader is killed (SIGKILL) after the first step; the other takes over
// within its lease and continues from the same step to promotion, with
// exactly one event per step. The failover time is recorded, not asserted.
func TestFleetLeaderKilled(t *testing.T) {
	srv := etcdtest.Start(t)
	v1, v2 := newUpstream(t, "v1"), newUpstream(t, "v2")
	procs := map[string]*proc{}
	for _, name := range []string{"m1", "m2"} {
		vars := map[string]string{"ETCD": srv.Endpoint, "NAME": name, "V1": v1.URL, "V2": v2.URL}
		procs[name] = startProc(t, writeConfig(t, t.TempDir(), fleetYAML, vars), tokenEnv)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, p := range procs {
		startLoad(ctx, p.URL, 2)
	}
	var leader string
	wait.For(t, 30*time.Second, "a leader", func() bool { leader = leaderOf(procs["m1"]); return leader != "" })
	survivor := procs["m1"]
	if leader == "m1" {
		survivor = procs["m2"]
	}
	survivor.waitStatus(t, "users", 60*time.Second, "the first step", func(s rolloutStatus) bool { return s.Weight >= 25 })
	procs[leader].kill()
	killed := time.Now()
	wait.For(t, 30*time.Second, "the survivor to lead", func() bool { l := leaderOf(survivor); return l != "" && l != leader })
	t.Logf("leader failover after kill -9 (lease 1s): %v", time.Since(killed))
	survivor.waitStatus(t, "users", 60*time.Second, "promotion", func(s rolloutStatus) bool { return s.State == "promoted" })

	resp, err := http.Get(survivor.AdminURL + "/api/v1/events?service=users")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct {
		Events []struct {
			Type   string         `json:"type"`
			Fields map[string]any `json:"fields"`
		} `json:"events"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range list.Events {
		if ev.Type == "rollout_started" || ev.Type == "step" || ev.Type == "promotion" {
			got = append(got, fmt.Sprintf("%s %v", ev.Type, ev.Fields["weight"]))
		}
	}
	want := []string{"rollout_started 10", "step 25", "step 50", "promotion 100"}
	if !slices.Equal(got, want) {
		t.Fatalf("the fleet's events %q, want one per step %q\n%s", got, want, survivor.logs())
	}
}

// TestFleetEtcdDownUnderLoad: etcd stops under load while a rollout steps:
// every request is still answered, no step is taken while the member is
// out of sync, and once etcd returns the member resyncs and steps on.
func TestFleetEtcdDownUnderLoad(t *testing.T) {
	srv := etcdtest.Start(t)
	v1, v2 := newUpstream(t, "v1"), newUpstream(t, "v2")
	vars := map[string]string{"ETCD": srv.Endpoint, "NAME": "m1", "V1": v1.URL, "V2": v2.URL}
	p := startProc(t, writeConfig(t, t.TempDir(), fleetYAML, vars), tokenEnv)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l := startLoad(ctx, p.URL, 2)
	p.waitStatus(t, "users", 60*time.Second, "the first step", func(s rolloutStatus) bool { return s.Weight >= 25 })

	srv.Stop()
	wait.For(t, 30*time.Second, "the member to say it is out of sync", func() bool {
		return strings.Contains(get(t, p.AdminURL+"/readyz"), "out of sync")
	})
	held := p.status(t, "users")
	// Several step intervals (2s) while out of sync: the load's answers
	// (a few hundred a second) are the clock, not a sleep.
	l.waitAnswers(t, 3000)
	if s := p.status(t, "users"); s.Weight != held.Weight || s.Step != held.Step {
		t.Fatalf("a step was taken with etcd down: %+v, then %+v", held, s)
	}
	srv.Start()
	wait.For(t, 30*time.Second, "the member in sync again", func() bool {
		return strings.Contains(get(t, p.AdminURL+"/readyz"), `"in sync"`)
	})
	p.waitStatus(t, "users", 60*time.Second, "promotion after etcd returned", func(s rolloutStatus) bool { return s.State == "promoted" })
	cancel()
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	for code, n := range l.status {
		if code != http.StatusOK {
			t.Fatalf("%d answers with status %d (all: %v)", n, code, l.status)
		}
	}
}

// get is the body of a GET of url ("" on failure).
func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
