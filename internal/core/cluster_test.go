package core_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/core"
	"github.com/turnout-gw/turnout/internal/testutil/etcdtest"
	"github.com/turnout-gw/turnout/internal/testutil/wait"
)

// fleetYAML is a rollout held by its step interval, in a fleet on ETCD.
const fleetYAML = `
upstreams:
  local: { targets: [http://127.0.0.1:9] }
state: STATE
cluster:
  etcd: { endpoints: [ETCD], prefix: /fleet }
  member: NAME
  advertise: http://NAME:9901
  lease: 1s
services:
  users:
    match: { path_prefix: /users }
    default: v1
    versions:
      v1: { upstream: local }
      v2: { upstream: local }
    rollout: { from: v1, to: v2, weight: 10, steps: [10, 50, 100], step_interval: 1h }
`

// startMember starts a core named name in the fleet on srv, its state in
// memory; t.Cleanup stops it.
func startMember(t *testing.T, srv *etcdtest.Server, name string) *core.Core {
	t.Helper()
	c, err := tryMember(t, srv, name, "memory", filepath.Join(t.TempDir(), "turnout.yaml"))
	if err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	return c
}

// tryMember starts a member with its configuration at path and its state
// at state.
func tryMember(t *testing.T, srv *etcdtest.Server, name, state, path string) (*core.Core, error) {
	t.Helper()
	write(t, path, strings.NewReplacer("ETCD", srv.Endpoint, "NAME", name, "STATE", state).Replace(fleetYAML))
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := core.Start(cfg, path, core.Options{NoPools: true, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Tick: 20 * time.Millisecond})
	if err != nil {
		return nil, err
	}
	// Stop again after the test's own Stop is harmless: the errors of
	// closing twice are not the test's subject.
	t.Cleanup(func() { _ = c.Stop() })
	return c, nil
}

type clusterView struct {
	Leader  string `json:"leader"`
	Members []struct {
		Name      string    `json:"name"`
		Advertise string    `json:"advertise"`
		Leader    bool      `json:"leader"`
		LastSeen  time.Time `json:"last_seen"`
		SpecHash  string    `json:"spec_hash"`
	} `json:"members"`
}

// view reads GET /api/v1/cluster from c's admin API.
func view(c *core.Core) (clusterView, error) {
	req := httptest.NewRequest("GET", "/api/v1/cluster", nil)
	req.Host = "127.0.0.1"
	rec := httptest.NewRecorder()
	c.Admin.ServeHTTP(rec, req)
	var v clusterView
	if rec.Code != http.StatusOK {
		return v, fmt.Errorf("status %d: %s", rec.Code, rec.Body)
	}
	return v, json.Unmarshal(rec.Body.Bytes(), &v)
}

// TestFleetOfCores: two cores with a cluster block form one fleet: both
// list both members and one leader with the same spec hash; a weight set
// on either is applied by the other; when the leader stops, the other
// leads.
func TestFleetOfCores(t *testing.T) {
	srv := etcdtest.Start(t)
	a := startMember(t, srv, "a")
	b := startMember(t, srv, "b")
	var first string
	wait.ForErr(t, 15*time.Second, "both members and a leader in the view", func() error {
		v, err := view(b)
		if err != nil {
			return err
		}
		if len(v.Members) != 2 || v.Leader == "" || v.Members[0].SpecHash == "" || v.Members[0].SpecHash != v.Members[1].SpecHash {
			return fmt.Errorf("view %+v", v)
		}
		first = v.Leader
		return nil
	})
	leader, follower := a, b
	if first == "b" {
		leader, follower = b, a
	}
	wait.ForErr(t, 15*time.Second, "the fleet's metrics", func() error {
		for c, want := range map[*core.Core][]string{
			leader:   {"turnout_cluster_leader 1", "turnout_cluster_members 2", "turnout_cluster_in_sync 1"},
			follower: {"turnout_cluster_leader 0", "turnout_cluster_members 2", "turnout_cluster_in_sync 1"},
		} {
			text := get(c, "/metrics")
			for _, w := range want {
				if !strings.Contains(text, w+"\n") {
					return fmt.Errorf("no %q in:\n%s", w, grepCluster(text))
				}
			}
		}
		return nil
	})

	if _, err := follower.Engine.SetWeight("users", 50, "api:test"); err != nil {
		t.Fatalf("weight on the follower: %v", err)
	}
	wait.ForErr(t, 15*time.Second, "the leader to apply the follower's weight", func() error {
		if s, _ := leader.Engine.Status("users"); s.Weight != 50 {
			return fmt.Errorf("leader at %v", s.Weight)
		}
		if w := leader.Configs.Snapshot().Table.Service("users").Rollout.Weight; w != 50 {
			return fmt.Errorf("leader's table at %v", w)
		}
		return nil
	})

	if err := leader.Stop(); err != nil {
		t.Fatal(err)
	}
	wait.ForErr(t, 15*time.Second, "the follower to lead alone", func() error {
		v, err := view(follower)
		if err != nil {
			return err
		}
		if len(v.Members) != 1 || v.Leader == first || v.Leader == "" {
			return fmt.Errorf("view %+v", v)
		}
		if text := get(follower, "/metrics"); !strings.Contains(text, "turnout_cluster_leader_changes_total 1\n") {
			return fmt.Errorf("the new leader's metrics:\n%s", grepCluster(text))
		}
		return nil
	})
}

// get is the body of GET path from c's admin API.
func get(c *core.Core, path string) string {
	req := httptest.NewRequest("GET", path, nil)
	req.Host = "127.0.0.1"
	rec := httptest.NewRecorder()
	c.Admin.ServeHTTP(rec, req)
	return rec.Body.String()
}

// grepCluster keeps the turnout_cluster_ lines of a scrape.
func grepCluster(text string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "turnout_cluster_") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestMemberStartsFromItsCache: a member restarted while etcd is down
// serves the fleet's state it cached (weight 50 set by a person), not the
// file's weight 10; a member with nothing cached refuses to start and
// says why.
func TestMemberStartsFromItsCache(t *testing.T) {
	srv := etcdtest.Start(t)
	dir := t.TempDir()
	path, state := filepath.Join(dir, "turnout.yaml"), filepath.Join(dir, "turnout.db")
	a, err := tryMember(t, srv, "a", state, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Engine.SetWeight("users", 50, "api:test"); err != nil {
		t.Fatal(err)
	}
	if err := a.Stop(); err != nil {
		t.Fatal(err)
	}
	srv.Stop()

	_, err = tryMember(t, srv, "b", "memory", filepath.Join(t.TempDir(), "turnout.yaml"))
	if err == nil || !strings.Contains(err.Error(), "no state is cached here") {
		t.Fatalf("a member without a cache started with etcd down: %v", err)
	}
	a, err = tryMember(t, srv, "a", state, path)
	if err != nil {
		t.Fatalf("restart from the cache: %v", err)
	}
	if s, _ := a.Engine.Status("users"); s.Weight != 50 {
		t.Fatalf("restarted at weight %v, want the cached 50", s.Weight)
	}
	if w := a.Configs.Snapshot().Table.Service("users").Rollout.Weight; w != 50 {
		t.Fatalf("table at weight %v, want the cached 50", w)
	}
}

// TestMemberOutOfReach: while etcd is down a member keeps serving the
// fleet's state, refuses a change it cannot write, and says it is out of
// sync in /readyz (still ready) and the metrics; when etcd returns it is
// in sync again and changes are written.
func TestMemberOutOfReach(t *testing.T) {
	srv := etcdtest.Start(t)
	a := startMember(t, srv, "a")
	wait.For(t, 15*time.Second, "a in sync", func() bool { return strings.Contains(get(a, "/readyz"), `"in sync"`) })
	if _, err := a.Engine.SetWeight("users", 50, "api:test"); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	wait.ForErr(t, 15*time.Second, "a to say it is out of sync", func() error {
		ready, metrics := get(a, "/readyz"), get(a, "/metrics")
		if !strings.Contains(ready, `"status": "ready"`) || !strings.Contains(ready, "out of sync, serving the last state seen") ||
			!strings.Contains(metrics, "turnout_cluster_in_sync 0\n") {
			return fmt.Errorf("readyz %s metrics %s", ready, grepCluster(metrics))
		}
		return nil
	})
	if _, err := a.Engine.SetWeight("users", 25, "api:test"); err == nil {
		t.Fatal("a weight change was taken with etcd down")
	}
	if s, _ := a.Engine.Status("users"); s.Weight != 50 || a.Configs.Snapshot().Table.Service("users").Rollout.Weight != 50 {
		t.Fatalf("serving weight %v with etcd down, want the fleet's 50", s.Weight)
	}
	srv.Start()
	wait.ForErr(t, 15*time.Second, "a in sync again", func() error {
		if ready := get(a, "/readyz"); !strings.Contains(ready, `"in sync"`) {
			return fmt.Errorf("readyz %s", ready)
		}
		return nil
	})
	if _, err := a.Engine.SetWeight("users", 25, "api:test"); err != nil {
		t.Fatalf("a weight change after etcd returned: %v", err)
	}
}

// TestReloadKeepsTheFleetsWeight: a reload with another weight in the
// file while etcd is down does not make the member serve it: the fleet
// did not take it, and the member serves the fleet's weight.
func TestReloadKeepsTheFleetsWeight(t *testing.T) {
	srv := etcdtest.Start(t)
	path := filepath.Join(t.TempDir(), "turnout.yaml")
	a, err := tryMember(t, srv, "a", "memory", path)
	if err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	text := strings.NewReplacer("ETCD", srv.Endpoint, "NAME", "a", "STATE", "memory", "weight: 10", "weight: 30").Replace(fleetYAML)
	write(t, path, text)
	if err := a.Configs.Reload("test"); err != nil {
		t.Fatal(err)
	}
	if w := a.Configs.Config().Services["users"].Rollout.Weight; w != 30 {
		t.Fatalf("the reloaded file has weight %v", w)
	}
	wait.ForErr(t, 15*time.Second, "the member to serve the fleet's weight 10", func() error {
		s, _ := a.Engine.Status("users")
		w := a.Configs.Snapshot().Table.Service("users").Rollout.Weight
		if s.Weight != 10 || w != 10 {
			return fmt.Errorf("engine at %v, table at %v", s.Weight, w)
		}
		return nil
	})
}
