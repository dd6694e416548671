package cluster

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/rollout"
	"github.com/turnout-gw/turnout/internal/stats"
	"github.com/turnout-gw/turnout/internal/store"
	"github.com/turnout-gw/turnout/internal/testutil/etcdtest"
	"github.com/turnout-gw/turnout/internal/testutil/wait"
)

// TestNewLeaderDoesNotRewriteAnOlderSpec: a deploy half done: the leader
// a reloads a new rollout spec and writes it, then dies; b, which has not
// reloaded yet, leads. It does not write its older spec over the fleet's
// (no second rollout_started, the fleet keeps a's spec and generation) and
// holds with a reason saying the fleet runs a newer spec; once b reloads
// the new spec it drives the fleet's rollout.
func TestNewLeaderDoesNotRewriteAnOlderSpec(t *testing.T) {
	srv := etcdtest.Start(t)
	text := strings.Replace(fleetYAML, "step_interval: 1h", "step_interval: 100ms", 1)
	oldCfg, err := config.Parse("fleet.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	newCfg, err := config.Parse("fleet.yaml", []byte(strings.Replace(text, "steps: [10, 50, 100]", "steps: [10, 30, 100]", 1)))
	if err != nil {
		t.Fatal(err)
	}
	newHash := rollout.SpecHash(newCfg.Services["users"].Rollout)
	a := newMember(t, srv, "a", oldCfg)
	wait.For(t, deadline, "a to lead", a.runner.Leading)
	b := newMember(t, srv, "b", oldCfg)

	// a is deployed first: it writes the new spec as the fleet's.
	if err := a.eng.Sync(newCfg); err != nil {
		t.Fatalf("a reload: %v", err)
	}
	wait.ForErr(t, deadline, "b to see the new spec", func() error {
		if v, ok, _ := b.st.GetRollout("users"); !ok || v.SpecHash != newHash {
			return fmt.Errorf("b sees %+v", v)
		}
		return nil
	})
	fleet, _, err := b.b.GetRollout(ctx(t), "users")
	if err != nil || fleet.Generation != 2 {
		t.Fatalf("the fleet's state after the new spec: generation %d (%v), want 2", fleet.Generation, err)
	}

	crash(a.b)
	wait.For(t, deadline, "b to lead", b.runner.Leading)
	wait.ForErr(t, deadline, "b to hold, saying the fleet runs a newer spec", func() error {
		b.reg.Record(stats.Key{Service: "users", Version: "v2", Upstream: "u2"}, false, time.Millisecond)
		if s := b.status(t); !strings.Contains(s.Reason, "the fleet runs rollout spec "+newHash) {
			return fmt.Errorf("b %s at %v: %s", s.State, s.Weight, s.Reason)
		}
		return nil
	})
	got, _, err := b.b.GetRollout(ctx(t), "users")
	if err != nil || got.SpecHash != newHash || got.Generation != 2 || got.Weight != 10 {
		t.Fatalf("the fleet's state after b leads: %+v (%v); want a's spec %s, generation 2, weight 10", got, err, newHash)
	}
	evs, err := b.st.Events(store.EventQuery{Service: "users"})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs[1:] {
		if ev.Type == "rollout_started" && ev.Fields["member"] == "b" {
			t.Fatalf("b restarted the rollout with its older spec: %+v", ev)
		}
	}
	if n := b.st.NotWritten(); n == 0 {
		t.Fatal("b's older spec was not refused")
	}

	// b is deployed too: it joins the fleet's rollout and drives it.
	if err := b.eng.Sync(newCfg); err != nil {
		t.Fatalf("b reload: %v", err)
	}
	if err := b.runner.SetSelf(ctx(t), self("b", newCfg)); err != nil {
		t.Fatal(err)
	}
	wait.ForErr(t, deadline, "b to step the new spec", func() error {
		b.reg.Record(stats.Key{Service: "users", Version: "v2", Upstream: "u2"}, false, time.Millisecond)
		if s := b.status(t); s.Weight != 30 && s.Weight != 100 {
			return fmt.Errorf("b %s at %v: %s", s.State, s.Weight, s.Reason)
		}
		return nil
	})
}

// TestRevertedSpecIsWritten: a leader reloaded back to the spec the fleet
// ran before (a deliberate revert, configured after the fleet moved) writes
// it, as the next generation.
func TestRevertedSpecIsWritten(t *testing.T) {
	srv := etcdtest.Start(t)
	oldCfg, err := config.Parse("fleet.yaml", []byte(fleetYAML))
	if err != nil {
		t.Fatal(err)
	}
	newCfg, err := config.Parse("fleet.yaml", []byte(strings.Replace(fleetYAML, "steps: [10, 50, 100]", "steps: [10, 30, 100]", 1)))
	if err != nil {
		t.Fatal(err)
	}
	a := newMember(t, srv, "a", oldCfg)
	wait.For(t, deadline, "a to lead", a.runner.Leading)
	for i, cfg := range []*config.Config{newCfg, oldCfg} {
		if err := a.eng.Sync(cfg); err != nil {
			t.Fatalf("reload %d: %v", i, err)
		}
		got, _, err := a.b.GetRollout(ctx(t), "users")
		if want := rollout.SpecHash(cfg.Services["users"].Rollout); err != nil || got.SpecHash != want || got.Generation != int64(i+2) {
			t.Fatalf("after reload %d the fleet holds spec %s generation %d (%v); want %s generation %d", i, got.SpecHash, got.Generation, err, want, i+2)
		}
	}
}
