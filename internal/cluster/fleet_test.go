package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/rollout"
	"github.com/turnout-gw/turnout/internal/stats"
	"github.com/turnout-gw/turnout/internal/store"
	"github.com/turnout-gw/turnout/internal/testutil/etcdtest"
	"github.com/turnout-gw/turnout/internal/testutil/wait"
)

const fleetYAML = `
upstreams:
  u1: { targets: [http://127.0.0.1:9001] }
  u2: { targets: [http://127.0.0.1:9002] }
services:
  users:
    match: { path_prefix: /users }
    default: v1
    versions:
      v1: { upstream: u1 }
      v2: { upstream: u2 }
    rollout:
      from: v1
      to: v2
      weight: 10
      steps: [10, 50, 100]
      step_interval: 1h
      on_failure: rollback
      analysis: { window: 10s, interval: 50ms, min_requests: 5, max_error_rate: 0.05 }
`

// member is one fleet member as the core will build it: a backend, a
// Store over a local memory store, an engine writing through it, and a
// Runner whose lead ticks the engine.
type member struct {
	name    string
	b       *Etcd
	st      *Store
	eng     *rollout.Engine
	reg     *stats.Registry
	runner  *Runner
	mu      sync.Mutex
	applied []float64
	// published gets every weight published, when a test set it (its
	// sends never block: a full channel drops).
	published chan float64
}

func newMember(t testing.TB, srv *etcdtest.Server, name string, cfg *config.Config) *member {
	t.Helper()
	return newMemberOn(t, open(t, srv), name, cfg)
}

// newMemberOn is newMember over the backend b.
func newMemberOn(t testing.TB, b *Etcd, name string, cfg *config.Config) *member {
	t.Helper()
	m := &member{name: name, b: b, reg: stats.NewRegistry(time.Now)}
	local, err := store.Open(store.MemoryPath)
	if err != nil {
		t.Fatal(err)
	}
	m.st = NewStore(m.b, local, name, nil)
	t.Cleanup(func() { _ = m.st.Close() })
	m.eng, err = rollout.New(m.st, m.reg, rollout.WithApply(func(_ string, w float64) error {
		m.mu.Lock()
		m.applied = append(m.applied, w)
		ch := m.published
		m.mu.Unlock()
		if ch != nil {
			select {
			case ch <- w:
			default:
			}
		}
		return nil
	}), rollout.WithStepGuard(func(service string) string {
		if m.runner.Leading() {
			return m.runner.Disagreement(service)
		}
		return ""
	}))
	if err != nil {
		t.Fatal(err)
	}
	m.st.OnAdopt(func(s store.RolloutState) { m.eng.Adopt(s) })
	rev, err := m.st.Load(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	// A member whose rollout spec is not the fleet's may not write it.
	if err := m.eng.Sync(cfg); err != nil && !errors.Is(err, ErrNotLeader) {
		t.Fatalf("%s: sync: %v", name, err)
	}
	m.runner = NewRunner(RunnerOptions{Backend: m.b, Store: m.st, Self: self(name, cfg),
		Lead: func(ctx context.Context) {
			// An older spec than the fleet's is held, not written.
			if err := m.eng.Reassert(); err != nil && !errors.Is(err, ErrStaleSpec) {
				t.Errorf("%s: reassert: %v", name, err)
			}
			m.eng.Run(ctx, 20*time.Millisecond)
		}, Retry: 100 * time.Millisecond, Resynced: func() { _ = m.eng.Resync() }})
	rctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.runner.Run(rctx, rev)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return m
}

// self is the member name publishes for cfg: its rollout spec hashes.
func self(name string, cfg *config.Config) Member {
	m := Member{Name: name, Advertise: "http://" + name, Specs: map[string]string{}}
	for svc, sc := range cfg.Services {
		if sc.Rollout != nil {
			m.Specs[svc] = rollout.SpecHash(sc.Rollout)
		}
	}
	return m
}

func (m *member) lastApplied() (float64, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.applied) == 0 {
		return 0, false
	}
	return m.applied[len(m.applied)-1], true
}

func (m *member) status(t testing.TB) rollout.Status {
	t.Helper()
	s, err := m.eng.Status("users")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestFleetOneDecisionEveryMember: the leader's rollback (its `to` fails
// every request it sees) is applied by the follower, and recorded once; a
// weight set through the follower is applied by the leader.
func TestFleetOneDecisionEveryMember(t *testing.T) {
	srv := etcdtest.Start(t)
	cfg, err := config.Parse("fleet.yaml", []byte(fleetYAML))
	if err != nil {
		t.Fatal(err)
	}
	a := newMember(t, srv, "a", cfg)
	wait.For(t, deadline, "a to lead", a.runner.Leading)
	b := newMember(t, srv, "b", cfg)
	if b.runner.Leading() {
		t.Fatal("b leads too")
	}

	// A person sets the weight through the follower: the leader applies it.
	if _, err := b.eng.SetWeight("users", 50, "api:test"); err != nil {
		t.Fatalf("weight through the follower: %v", err)
	}
	wait.For(t, deadline, "the leader to apply weight 50", func() bool {
		w, ok := a.lastApplied()
		return ok && w == 50 && a.status(t).Weight == 50
	})

	// The leader sees `to` fail (traffic goes on while the test waits):
	// it rolls back, and the follower follows.
	wait.ForErr(t, deadline, "the follower to roll back", func() error {
		a.reg.Record(stats.Key{Service: "users", Version: "v2", Upstream: "u2"}, true, time.Millisecond)
		if w, ok := b.lastApplied(); ok && w == 0 && b.status(t).State == rollout.RolledBack {
			return nil
		}
		return fmt.Errorf("leader: %+v; follower: %+v", a.status(t), b.status(t))
	})
	// The leader publishes its status once its write returns, which may
	// be after the follower saw the write through its watch.
	wait.For(t, deadline, "the leader's status to say rolled back", func() bool { return a.status(t).State == rollout.RolledBack })
	evs, err := b.st.Events(store.EventQuery{Service: "users"})
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, ev := range evs {
		types = append(types, fmt.Sprintf("%s by %s through %v", ev.Type, ev.Actor, ev.Fields["member"]))
	}
	want := []string{"rollout_started by config through a", "weight_change by api:test through b",
		"analysis_failure by engine through a", "rollback by engine through a"}
	if !slices.Equal(types, want) {
		t.Fatalf("the fleet's events %q, want each action once: %q", types, want)
	}
}

// TestFleetFollowerDoesNotAct: a follower whose engine analyses and finds
// `to` failing (as a member cut off from the leader might) cannot write
// its rollback: the write as leader is refused, and the follower keeps
// serving the fleet's state, records nothing and publishes nothing.
func TestFleetFollowerDoesNotAct(t *testing.T) {
	srv := etcdtest.Start(t)
	cfg, err := config.Parse("fleet.yaml", []byte(fleetYAML))
	if err != nil {
		t.Fatal(err)
	}
	a := newMember(t, srv, "a", cfg)
	wait.For(t, deadline, "a to lead", a.runner.Leading)
	b := newMember(t, srv, "b", cfg)
	wait.ForErr(t, deadline, "the follower's own analysis to fail", func() error {
		b.reg.Record(stats.Key{Service: "users", Version: "v2", Upstream: "u2"}, true, time.Millisecond)
		b.eng.Tick()
		if s := b.status(t); s.LastAnalysis == nil || s.LastAnalysis.Result != rollout.ResultFail {
			return fmt.Errorf("last analysis %+v", s.LastAnalysis)
		}
		return nil
	})
	if s := b.status(t); s.State != rollout.Progressing || s.Weight != 10 {
		t.Fatalf("the follower acted alone: %s at %v", s.State, s.Weight)
	}
	if w, ok := b.lastApplied(); ok {
		t.Fatalf("the follower published weight %v", w)
	}
	evs, err := a.st.Events(store.EventQuery{Service: "users"})
	if err != nil || len(evs) != 1 || evs[0].Type != "rollout_started" {
		t.Fatalf("the fleet's events %+v %v, want only the start", evs, err)
	}
}

// TestFleetLeaderKilledMidRollout: the leader stops renewing its lease
// (killed) after the first step; the other member takes over at the same
// step and walks the rest: every step is recorded exactly once.
func TestFleetLeaderKilledMidRollout(t *testing.T) {
	srv := etcdtest.Start(t)
	text := strings.NewReplacer("steps: [10, 50, 100]", "steps: [10, 25, 50, 100]", "step_interval: 1h", "step_interval: 200ms").Replace(fleetYAML)
	cfg, err := config.Parse("fleet.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	a := newMember(t, srv, "a", cfg)
	wait.For(t, deadline, "a to lead", a.runner.Leading)
	b := newMember(t, srv, "b", cfg)
	healthy := func() {
		for _, m := range []*member{a, b} {
			m.reg.Record(stats.Key{Service: "users", Version: "v2", Upstream: "u2"}, false, time.Millisecond)
		}
	}
	wait.ForErr(t, deadline, "the leader's first step", func() error {
		healthy()
		if s := b.status(t); s.Weight < 25 {
			return fmt.Errorf("follower at %v", s.Weight)
		}
		return nil
	})
	crash(a.b)
	wait.ForErr(t, deadline, "b to take over and promote", func() error {
		healthy()
		if s := b.status(t); s.State != rollout.Promoted {
			return fmt.Errorf("follower %s at %v", s.State, s.Weight)
		}
		return nil
	})
	if !b.runner.Leading() {
		t.Fatal("b promoted without leading")
	}
	evs, err := b.st.Events(store.EventQuery{Service: "users"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range evs {
		got = append(got, fmt.Sprintf("%s %v", ev.Type, ev.Fields["weight"]))
	}
	want := []string{"rollout_started 10", "step 25", "step 50", "promotion 100"}
	if !slices.Equal(got, want) {
		t.Fatalf("the fleet's events %q, want each step once: %q", got, want)
	}
}

// TestFleetHoldsWhileMembersDisagree: a member configured with another
// rollout spec (a deploy half done) neither restarts the fleet's rollout
// nor lets it step: the leader holds with a reason naming it, and steps
// once the member is configured alike.
func TestFleetHoldsWhileMembersDisagree(t *testing.T) {
	srv := etcdtest.Start(t)
	text := strings.NewReplacer("steps: [10, 50, 100]", "steps: [10, 25, 50, 100]", "step_interval: 1h", "step_interval: 200ms").Replace(fleetYAML)
	cfg, err := config.Parse("fleet.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	other, err := config.Parse("other.yaml", []byte(strings.Replace(text, "steps: [10, 25, 50, 100]", "steps: [10, 30, 100]", 1)))
	if err != nil {
		t.Fatal(err)
	}
	a := newMember(t, srv, "a", cfg)
	wait.For(t, deadline, "a to lead", a.runner.Leading)
	b := newMember(t, srv, "b", other)
	wait.ForErr(t, deadline, "the leader to hold, naming b", func() error {
		a.reg.Record(stats.Key{Service: "users", Version: "v2", Upstream: "u2"}, false, time.Millisecond)
		s := a.status(t)
		if !strings.Contains(s.Reason, "step held: members disagree") || !strings.Contains(s.Reason, "b has rollout spec") {
			return fmt.Errorf("leader %s at %v: %s", s.State, s.Weight, s.Reason)
		}
		return nil
	})
	if s := a.status(t); s.Weight != 10 {
		t.Fatalf("the leader stepped to %v while b disagreed", s.Weight)
	}
	evs, err := a.st.Events(store.EventQuery{Service: "users"})
	if err != nil || len(evs) != 1 {
		t.Fatalf("the fleet's events %+v %v, want only a's start", evs, err)
	}

	// b is configured as a: it joins the fleet's rollout and says so.
	if err := b.eng.Sync(cfg); err != nil {
		t.Fatalf("b reload: %v", err)
	}
	if err := b.runner.SetSelf(ctx(t), self("b", cfg)); err != nil {
		t.Fatal(err)
	}
	wait.ForErr(t, deadline, "the leader to step, and b to follow", func() error {
		a.reg.Record(stats.Key{Service: "users", Version: "v2", Upstream: "u2"}, false, time.Millisecond)
		if s := b.status(t); s.Weight < 25 {
			return fmt.Errorf("b at %v; leader: %s", s.Weight, a.status(t).Reason)
		}
		return nil
	})
	evs, _ = a.st.Events(store.EventQuery{Service: "users"})
	if evs[1].Type != "step" {
		t.Fatalf("after agreeing, the fleet's events %+v; want a's start then a step", evs)
	}
}
