package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/testutil/wait"
)

// walk is the rollout both fault tests run, and the events it must leave
// in the shared log: one per step, in order, through to promotion.
var (
	walkVars = map[string]string{"STEPS": "10, 25, 50, 100", "INTERVAL": "2s"}
	walkLog  = []string{"rollout_started 10", "step 25", "step 50", "promotion 100"}
)

// TestFleet3LeaderKilled: the leader of the three members is killed
// (SIGKILL) while the rollout is progressing past its first step, under
// load; the two survivors agree on a new leader among them (the takeover
// time is logged, not asserted), which continues from the step and weight
// the fleet was at: the survivors' weights only ever go up through the
// steps, and the shared event log read through each survivor has each
// step exactly once, in order, through to promotion. No request of the
// load on the survivors fails.
func TestFleet3LeaderKilled(t *testing.T) {
	f := startFleet(t, walkVars, nil)
	f.whenAll(t, 30*time.Second, "the first step", func(s rolloutStatus) bool { return s.State == "progressing" && s.Weight >= 25 })
	leader := leaderOf(f.procs["m1"])
	var survivors []string
	var loads []*load
	for i, name := range f.names {
		if name != leader {
			survivors = append(survivors, name)
			loads = append(loads, f.loads[i])
		}
	}
	if len(survivors) != 2 {
		t.Fatalf("leader %q is not one of %v", leader, f.names)
	}
	before := f.procs[survivors[0]].status(t, "users")
	if before.State != "progressing" || before.Weight >= 100 {
		t.Fatalf("before the kill: %+v, want progressing short of 100", before)
	}

	ttl := grantedTTL(t, f)
	f.procs[leader].kill()
	killed := time.Now()
	var next string
	wait.ForErr(t, 15*time.Second, "a survivor to lead in both survivors' view", func() error {
		a, b := leaderOf(f.procs[survivors[0]]), leaderOf(f.procs[survivors[1]])
		if a != b || !slices.Contains(survivors, a) {
			return fmt.Errorf("leaders %q and %q", a, b)
		}
		next = a
		return nil
	})
	t.Logf("leader takeover after kill -9 of %s: %v, by %s (lease: 1s, granted by etcd as %s)", leader, time.Since(killed).Round(time.Millisecond), next, ttl)
	at := f.procs[next].status(t, "users")
	if at.Weight < before.Weight || at.Step < before.Step || at.State == "rolled_back" {
		t.Fatalf("the new leader's rollout at takeover: %+v, the fleet's before the kill: %+v", at, before)
	}
	t.Logf("before the kill step %d weight %v; at takeover step %d weight %v", before.Step, before.Weight, at.Step, at.Weight)

	_, polled := f.trace(t, survivors, 30*time.Second, "promotion", func(s rolloutStatus) bool { return s.State == "promoted" && s.Weight == 100 })
	for _, name := range survivors {
		for i, s := range polled[name] {
			if s.State != "progressing" && s.State != "promoted" || i > 0 && s.Weight < polled[name][i-1].Weight ||
				s.Weight < before.Weight {
				t.Fatalf("%s went from %+v to %+v after the kill (before it: %+v)", name, polled[name][max(i-1, 0)], s, before)
			}
		}
		if got := rolloutEvents(t, f.procs[name]); !slices.Equal(got, walkLog) {
			t.Fatalf("the fleet's events through %s: %q, want one per step %q\n%s", name, got, walkLog, f.procs[next].logs())
		}
	}
	f.stop()
	for i, l := range loads {
		if n, what := l.failed(); n > 0 {
			t.Fatalf("%d requests to %s failed: %s", n, survivors[i], what)
		}
	}
}

// TestFleet3EtcdDown: etcd stops under load while the rollout progresses;
// once every member's /readyz says it is out of sync (and why), each
// member keeps answering for a fixed number of requests (the load's
// answers are the clock, several step intervals) at the weight and step
// it held, all three alike, and no request fails. When etcd returns, every
// member says it is in sync again and the rollout steps on to promotion,
// each step recorded once.
func TestFleet3EtcdDown(t *testing.T) {
	f := startFleet(t, walkVars, nil)
	f.whenAll(t, 30*time.Second, "the first step", func(s rolloutStatus) bool { return s.State == "progressing" && s.Weight >= 25 })

	f.etcd.Stop()
	down := time.Now()
	f.allReady(t, "out of sync, serving the last state seen: ")
	held := f.procs["m1"].status(t, "users")
	if held.State != "progressing" || held.Weight >= 100 {
		t.Fatalf("held with etcd down: %+v, want progressing short of 100", held)
	}
	for _, l := range f.loads {
		l.waitAnswers(t, 500)
	}
	for _, name := range f.names {
		s := f.procs[name].status(t, "users")
		if s.Weight != held.Weight || s.Step != held.Step || s.State != held.State {
			t.Fatalf("%s with etcd down: %+v, m1 held %+v", name, s, held)
		}
	}
	why := f.allReady(t, "out of sync, serving the last state seen: ")
	t.Logf("etcd down %v; held at step %d weight %v; m1's /readyz: %s", time.Since(down).Round(time.Millisecond), held.Step, held.Weight, why)
	f.checkLoads(t)

	f.etcd.Start()
	back := time.Now()
	f.allReady(t, "in sync")
	t.Logf("every member in sync %v after etcd started", time.Since(back).Round(time.Millisecond))
	f.whenAll(t, 30*time.Second, "the next step", func(s rolloutStatus) bool { return s.Weight > held.Weight })
	f.whenAll(t, 30*time.Second, "promotion", func(s rolloutStatus) bool { return s.State == "promoted" && s.Weight == 100 })
	for _, name := range f.names {
		if got := rolloutEvents(t, f.procs[name]); !slices.Equal(got, walkLog) {
			t.Fatalf("the fleet's events through %s: %q, want one per step %q", name, got, walkLog)
		}
	}
	f.stop()
	f.checkLoads(t)
}

// allReady waits until every member's /readyz is ready with a "cluster"
// that starts with want, and returns m1's.
func (f *fleet) allReady(t *testing.T, want string) string {
	t.Helper()
	var m1 string
	wait.ForErr(t, 30*time.Second, "every member's /readyz to say "+want, func() error {
		for _, name := range f.names {
			body := get(t, f.procs[name].AdminURL+"/readyz")
			var v struct{ Status, Cluster string }
			if err := json.Unmarshal([]byte(body), &v); err != nil || v.Status != "ready" || !strings.HasPrefix(v.Cluster, want) {
				return fmt.Errorf("%s: %q", name, body)
			}
			if name == "m1" {
				m1 = v.Cluster
			}
		}
		return nil
	})
	return m1
}

// grantedTTL is the TTL etcd granted the first of its leases (a member's
// or the leader's), read from its JSON gateway: etcd raises a lease below
// its minimum.
func grantedTTL(t *testing.T, f *fleet) string {
	t.Helper()
	var list struct{ Leases []struct{ ID string } }
	if err := json.Unmarshal([]byte(post(t, f.etcd.Endpoint+"/v3/lease/leases", `{}`)), &list); err != nil || len(list.Leases) == 0 {
		t.Fatalf("etcd's leases: %v %+v", err, list)
	}
	var ttl struct {
		GrantedTTL string `json:"grantedTTL"`
	}
	if err := json.Unmarshal([]byte(post(t, f.etcd.Endpoint+"/v3/lease/timetolive", `{"ID": "`+list.Leases[0].ID+`"}`)), &ttl); err != nil {
		t.Fatalf("etcd's lease %s: %v", list.Leases[0].ID, err)
	}
	return ttl.GrantedTTL + "s"
}

// post is the body of a POST of body to url, which must answer 200.
func post(t *testing.T, url, body string) string {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}

// checkLoads fails t if a request of any member's load failed.
func (f *fleet) checkLoads(t *testing.T) {
	t.Helper()
	for i, l := range f.loads {
		if n, what := l.failed(); n > 0 {
			t.Fatalf("%d requests to %s failed: %s", n, f.names[i], what)
		}
	}
}
