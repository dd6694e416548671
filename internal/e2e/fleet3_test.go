package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/testutil/etcdtest"
	"github.com/turnout-gw/turnout/internal/testutil/wait"
)

// fleet3YAML is one member of a three-member fleet sharing the upstream
// pair; STEPS and INTERVAL vary per test (and per member, for a spec
// that disagrees). The analysis is short so that each test stays bounded.
const fleet3YAML = `
listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: memory
cluster: { etcd: { endpoints: [{{ETCD}}], prefix: /three }, member: {{NAME}}, lease: 1s }
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
      steps: [{{STEPS}}]
      step_interval: {{INTERVAL}}
      analysis: { window: 2s, interval: 200ms, min_requests: 5, max_error_rate: 0.05 }
`

// fleetToken is the admin token every member shares (admin.token_env's
// default variable): the members pull each other's stats with it.
const fleetToken = "e2e-fleet-token-0123456789abcdef"

var tokenEnv = "TURNOUT_ADMIN_TOKEN=" + fleetToken

// fleet is three real `turnout serve` members on one real etcd, sharing
// one upstream pair, each under its own bounded load.
type fleet struct {
	etcd   *etcdtest.Server
	v1, v2 *upstream
	names  []string
	procs  map[string]*proc
	paths  map[string]string
	vars   map[string]string
	cancel context.CancelFunc
	loads  []*load
}

var fleetNames = []string{"m1", "m2", "m3"}

// startFleet starts etcd, the upstreams and the three members, m1 first
// (it leads: it registers and campaigns before the others start), with
// vars filling fleet3YAML and perMember overriding them for one member.
// Each member gets one load worker; the load stops at cleanup.
func startFleet(t *testing.T, vars map[string]string, perMember map[string]map[string]string) *fleet {
	t.Helper()
	f := &fleet{etcd: etcdtest.Start(t), v1: newUpstream(t, "v1"), v2: newUpstream(t, "v2"), names: fleetNames,
		procs: map[string]*proc{}, paths: map[string]string{}}
	f.vars = map[string]string{"ETCD": f.etcd.Endpoint, "V1": f.v1.URL, "V2": f.v2.URL}
	for k, v := range vars {
		f.vars[k] = v
	}
	for i, name := range f.names {
		mv := map[string]string{"NAME": name}
		for k, v := range f.vars {
			mv[k] = v
		}
		for k, v := range perMember[name] {
			mv[k] = v
		}
		f.paths[name] = writeConfig(t, t.TempDir(), fleet3YAML, mv)
		f.procs[name] = startProc(t, f.paths[name], tokenEnv)
		if i == 0 {
			wait.For(t, 30*time.Second, "m1 to lead", func() bool { return leaderOf(f.procs["m1"]) == "m1" })
		}
	}
	wait.ForErr(t, 30*time.Second, "three members in every view", func() error {
		for _, name := range f.names {
			if n := len(membersOf(f.procs[name])); n != 3 {
				return fmt.Errorf("%s sees %d members", name, n)
			}
		}
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	for _, name := range f.names {
		f.loads = append(f.loads, startLoad(ctx, f.procs[name].URL, 1))
	}
	t.Cleanup(f.stop)
	return f
}

// stop ends the load and waits for its workers.
func (f *fleet) stop() {
	f.cancel()
	for _, l := range f.loads {
		l.wg.Wait()
	}
}

// membersOf reads the member names from p's /api/v1/cluster (nil on any
// failure).
func membersOf(p *proc) []string {
	resp, err := http.Get(p.AdminURL + "/api/v1/cluster")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var v struct {
		Members []struct{ Name string } `json:"members"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&v) != nil {
		return nil
	}
	var out []string
	for _, m := range v.Members {
		out = append(out, m.Name)
	}
	return out
}

// tryStatus is p's rollout of users, or an error.
func tryStatus(p *proc) (rolloutStatus, error) {
	var s rolloutStatus
	resp, err := http.Get(p.AdminURL + "/api/v1/rollouts/users")
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("status %d", resp.StatusCode)
	}
	return s, json.NewDecoder(resp.Body).Decode(&s)
}

// whenAll polls every member at once until cond holds on it and returns,
// by member, when it was first seen to hold (each member's own poll loop,
// so one slow member does not delay seeing another).
func (f *fleet) whenAll(t *testing.T, timeout time.Duration, what string, cond func(rolloutStatus) bool) map[string]time.Time {
	t.Helper()
	return f.when(t, f.names, timeout, what, cond)
}

// when is whenAll of the members names.
func (f *fleet) when(t *testing.T, names []string, timeout time.Duration, what string, cond func(rolloutStatus) bool) map[string]time.Time {
	t.Helper()
	seen, _ := f.trace(t, names, timeout, what, cond)
	return seen
}

// trace is when, also returning by member the statuses it polled, in
// order, a repeat of the one before left out.
func (f *fleet) trace(t *testing.T, names []string, timeout time.Duration, what string, cond func(rolloutStatus) bool) (map[string]time.Time, map[string][]rolloutStatus) {
	t.Helper()
	var mu sync.Mutex
	seen := map[string]time.Time{}
	errs := map[string]error{}
	polled := map[string][]rolloutStatus{}
	var wg sync.WaitGroup
	for _, name := range names {
		p := f.procs[name]
		wg.Go(func() {
			var got []rolloutStatus
			err := wait.Poll(timeout, func() error {
				s, err := tryStatus(p)
				if err != nil {
					return err
				}
				if len(got) == 0 || got[len(got)-1] != s {
					got = append(got, s)
				}
				if !cond(s) {
					return fmt.Errorf("last %+v", s)
				}
				return nil
			})
			mu.Lock()
			defer mu.Unlock()
			seen[name], errs[name], polled[name] = time.Now(), err, got
		})
	}
	wg.Wait()
	for _, name := range names {
		if errs[name] != nil {
			t.Fatalf("%s: waiting for %s: %v\n%s", name, what, errs[name], f.procs[name].logs())
		}
	}
	return seen, polled
}

// rolloutEvents are the rollout_started, step, promotion and rollback
// events of users in p's shared event log, as "TYPE WEIGHT".
func rolloutEvents(t *testing.T, p *proc) []string {
	t.Helper()
	resp, err := http.Get(p.AdminURL + "/api/v1/events?service=users")
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
		if slices.Contains([]string{"rollout_started", "step", "promotion", "rollback"}, ev.Type) {
			got = append(got, fmt.Sprintf("%s %v", ev.Type, ev.Fields["weight"]))
		}
	}
	return got
}

// TestFleet3RollbackReachesAll: `to` starts answering 500 under load on
// all three members; every member switches to weight 0. The delay from
// the failure's onset to the last member's switch is logged, not asserted.
func TestFleet3RollbackReachesAll(t *testing.T) {
	f := startFleet(t, map[string]string{"STEPS": "10, 100", "INTERVAL": "1h"}, nil)
	for _, l := range f.loads {
		l.waitAnswers(t, 100)
	}
	f.v2.fail.Store(true)
	onset := time.Now()
	seen := f.whenAll(t, 30*time.Second, "weight 0", func(s rolloutStatus) bool { return s.Weight == 0 && s.State == "rolled_back" })
	var last time.Duration
	for _, name := range f.names {
		d := seen[name].Sub(onset)
		last = max(last, d)
		t.Logf("%s at weight 0 after %v", name, d)
	}
	t.Logf("rollback delay across 3 members (failure onset to the last member's switch): %v", last)
	if got := rolloutEvents(t, f.procs["m2"]); !slices.Equal(got, []string{"rollout_started 10", "rollback 0"}) {
		t.Fatalf("the fleet's events %q, want one rollback", got)
	}
}

// TestFleet3WalksOnce: a healthy rollout walks 10 → 25 → 50 → 100 on the
// fleet once: every member promoted, and exactly one event per step in
// the shared log, whichever member is asked.
func TestFleet3WalksOnce(t *testing.T) {
	f := startFleet(t, map[string]string{"STEPS": "10, 25, 50, 100", "INTERVAL": "1s"}, nil)
	puts, start := etcdPuts(t, f), time.Now()
	f.whenAll(t, 60*time.Second, "promotion", func(s rolloutStatus) bool { return s.State == "promoted" && s.Weight == 100 })
	n, d := etcdPuts(t, f)-puts, time.Since(start)
	t.Logf("etcd keys put from the load's start to promotion (3 steps at step_interval 1s): %d in %v", n, d.Round(time.Millisecond))
	want := []string{"rollout_started 10", "step 25", "step 50", "promotion 100"}
	for _, name := range f.names {
		if got := rolloutEvents(t, f.procs[name]); !slices.Equal(got, want) {
			t.Fatalf("the fleet's events through %s: %q, want one per step %q", name, got, want)
		}
	}
}

// etcdPuts is etcd's count of keys written (etcd_mvcc_put_total, puts in
// transactions included), read from its /metrics.
func etcdPuts(t *testing.T, f *fleet) int {
	t.Helper()
	for _, line := range strings.Split(get(t, f.etcd.Endpoint+"/metrics"), "\n") {
		if v, ok := strings.CutPrefix(line, "etcd_mvcc_put_total "); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("etcd_mvcc_put_total %q: %v", v, err)
			}
			return int(n)
		}
	}
	t.Fatalf("etcd's /metrics has no etcd_mvcc_put_total")
	return 0
}
