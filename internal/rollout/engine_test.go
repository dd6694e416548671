package rollout

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/stats"
	"github.com/turnout-gw/turnout/internal/store"
	"github.com/turnout-gw/turnout/internal/testutil/testclock"
)

const baseYAML = `
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
      weight: WEIGHT
      steps: STEPS
      step_interval: 30s
      on_failure: ONFAIL
      analysis:
        window: 10s
        min_requests: 20
        max_error_rate: 0.05
        max_latency_p95: 500ms
        RELATIVE
`

type harness struct {
	t       *testing.T
	clock   *testclock.Clock
	reg     *stats.Registry
	st      store.Store
	eng     *Engine
	cfg     *config.Config
	mu      sync.Mutex
	applied []float64
}

func yamlWith(weight, steps, onfail, relative string) string {
	r := strings.NewReplacer("WEIGHT", weight, "STEPS", steps, "ONFAIL", onfail, "RELATIVE", relative)
	return r.Replace(baseYAML)
}

func newHarness(t *testing.T, text string) *harness {
	t.Helper()
	h := &harness{t: t, clock: testclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))}
	h.reg = stats.NewRegistry(h.clock.Now)
	st, err := store.Open("memory", store.WithClock(h.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	h.st = st
	h.start(text)
	return h
}

// start builds an engine over the harness's store (a restart when called again).
func (h *harness) start(text string) {
	h.t.Helper()
	cfg, err := config.Parse("test.yaml", []byte(text))
	if err != nil {
		h.t.Fatal(err)
	}
	h.cfg = cfg
	eng, err := New(h.st, h.reg, WithClock(h.clock.Now), WithApply(func(_ string, w float64) error {
		h.mu.Lock()
		h.applied = append(h.applied, w)
		h.mu.Unlock()
		return nil
	}))
	if err != nil {
		h.t.Fatal(err)
	}
	if err := eng.Sync(cfg); err != nil {
		h.t.Fatal(err)
	}
	h.eng = eng
}

func (h *harness) status() Status {
	h.t.Helper()
	s, err := h.eng.Status("users")
	if err != nil {
		h.t.Fatal(err)
	}
	return s
}

// traffic records n requests per second to version for secs seconds, with
// the given number failing each second and latency lat, ticking each second.
func (h *harness) traffic(version string, secs, n, failing int, lat time.Duration) {
	for s := 0; s < secs; s++ {
		for i := 0; i < n; i++ {
			h.reg.Record(stats.Key{Service: "users", Version: version, Upstream: "u"}, i < failing, lat)
		}
		h.clock.Advance(time.Second)
		h.eng.Tick()
	}
}

func (h *harness) both(secs, n, failTo int, latTo time.Duration) {
	for s := 0; s < secs; s++ {
		for i := 0; i < n; i++ {
			h.reg.Record(stats.Key{Service: "users", Version: "v2", Upstream: "u2"}, i < failTo, latTo)
			h.reg.Record(stats.Key{Service: "users", Version: "v1", Upstream: "u1"}, false, 10*time.Millisecond)
		}
		h.clock.Advance(time.Second)
		h.eng.Tick()
	}
}

func TestInitialStates(t *testing.T) {
	for _, c := range []struct {
		name, weight, steps string
		state               string
		w                   float64
		step                int
	}{
		{"weight at first step", "10", "[10, 25, 50, 100]", Progressing, 10, 0},
		{"zero weight starts at first step", "0", "[5, 50, 100]", Progressing, 5, 0},
		{"between steps", "30", "[10, 25, 50, 100]", Progressing, 30, 1},
		{"no steps", "20", "[]", Progressing, 20, -1},
		{"nothing to do", "0", "[]", Pending, 0, -1},
		{"all in", "100", "[]", Promoted, 100, -1},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, yamlWith(c.weight, c.steps, "rollback", ""))
			s := h.status()
			if s.State != c.state || s.Weight != c.w || s.Step != c.step {
				t.Fatalf("got %s %.4g step %d, want %s %.4g step %d", s.State, s.Weight, s.Step, c.state, c.w, c.step)
			}
			if w := h.eng.Plan(h.cfg)["users"]; w != c.w {
				t.Fatalf("Plan weight %v, want %v", w, c.w)
			}
		})
	}
}

func TestStepsAdvanceWhileHealthyAndPromote(t *testing.T) {
	h := newHarness(t, yamlWith("10", "[10, 25, 50, 100]", "rollback", ""))
	var seen []float64
	for i := 0; i < 200 && h.status().State == Progressing; i++ {
		h.both(1, 10, 0, 20*time.Millisecond)
		if w := h.status().Weight; len(seen) == 0 || seen[len(seen)-1] != w {
			seen = append(seen, w)
		}
	}
	s := h.status()
	if s.State != Promoted || s.Weight != 100 {
		t.Fatalf("state %s weight %v, want promoted at 100 (weights %v)", s.State, s.Weight, seen)
	}
	if want := []float64{10, 25, 50, 100}; len(seen) != len(want) || seen[1] != 25 || seen[2] != 50 {
		t.Fatalf("weights walked %v, want %v", seen, want)
	}
	evs, _ := h.st.Events(store.EventQuery{Service: "users"})
	types := []string{}
	for _, e := range evs {
		types = append(types, e.Type)
	}
	if got := strings.Join(types, ","); got != "rollout_started,step,step,promotion" {
		t.Fatalf("events %s", got)
	}
	if h.applied[len(h.applied)-1] != 100 {
		t.Fatalf("last published weight %v", h.applied)
	}
}

func TestWaitingForTrafficHoldsTheStep(t *testing.T) {
	h := newHarness(t, yamlWith("10", "[10, 25, 50, 100]", "rollback", ""))
	h.traffic("v2", 60, 1, 0, time.Millisecond) // 10 requests per window < min 20
	s := h.status()
	if s.State != Progressing || s.Weight != 10 {
		t.Fatalf("state %s weight %v, want progressing at 10", s.State, s.Weight)
	}
	if !strings.Contains(s.Reason, "waiting for traffic") || s.LastAnalysis == nil || s.LastAnalysis.Result != ResultWaiting {
		t.Fatalf("reason %q analysis %+v", s.Reason, s.LastAnalysis)
	}
}

func TestRollbackOnErrorsStaysRolledBack(t *testing.T) {
	h := newHarness(t, yamlWith("10", "[10, 25, 50, 100]", "rollback", ""))
	h.traffic("v2", 5, 10, 5, time.Millisecond) // 50 % errors
	s := h.status()
	if s.State != RolledBack || s.Weight != 0 {
		t.Fatalf("state %s weight %v, want rolled_back at 0", s.State, s.Weight)
	}
	if !strings.Contains(s.Reason, "error_rate") || !strings.Contains(s.Reason, "> max 0.05") {
		t.Fatalf("reason %q must name the check, value and threshold", s.Reason)
	}
	if h.applied[len(h.applied)-1] != 0 {
		t.Fatalf("weight 0 not published: %v", h.applied)
	}
	h.traffic("v2", 60, 10, 0, time.Millisecond) // healthy again: still rolled back
	if s := h.status(); s.State != RolledBack {
		t.Fatalf("a rolled-back rollout moved by itself to %s", s.State)
	}
	h.start(yamlWith("10", "[10, 25, 50, 100]", "rollback", "")) // restart
	if s := h.status(); s.State != RolledBack || s.Weight != 0 {
		t.Fatalf("after restart %s %v", s.State, s.Weight)
	}
	if w := h.eng.Plan(h.cfg)["users"]; w != 0 {
		t.Fatalf("Plan after restart %v, want 0", w)
	}
}

func TestFastFailBeforeMinRequests(t *testing.T) {
	h := newHarness(t, yamlWith("10", "[]", "rollback", ""))
	h.reg.Record(stats.Key{Service: "users", Version: "v2", Upstream: "u2"}, true, time.Millisecond)
	h.reg.Record(stats.Key{Service: "users", Version: "v2", Upstream: "u2"}, true, time.Millisecond)
	h.clock.Advance(300 * time.Millisecond)
	h.eng.Tick()
	if s := h.status(); s.State != RolledBack {
		t.Fatalf("2 failures of min 20 at max 5%% must already fail; got %s (%s)", s.State, s.Reason)
	}
}

func TestRollbackOnLatency(t *testing.T) {
	h := newHarness(t, yamlWith("10", "[]", "rollback", ""))
	h.traffic("v2", 3, 10, 0, 900*time.Millisecond)
	s := h.status()
	if s.State != RolledBack || !strings.Contains(s.Reason, "latency_p95") {
		t.Fatalf("state %s reason %q", s.State, s.Reason)
	}
}

func TestPauseOnFailure(t *testing.T) {
	h := newHarness(t, yamlWith("25", "[]", "pause", ""))
	h.traffic("v2", 3, 10, 10, time.Millisecond)
	if s := h.status(); s.State != Paused || s.Weight != 25 {
		t.Fatalf("state %s weight %v, want paused at 25", s.State, s.Weight)
	}
}

func TestRelativeToleratesANoisyBaseline(t *testing.T) {
	text := yamlWith("10", "[]", "rollback", "relative: true\n        margin: 0.02")
	h := newHarness(t, text)
	// Both versions fail 30 %: a shared dependency, not v2's fault.
	for s := 0; s < 10; s++ {
		for i := 0; i < 10; i++ {
			h.reg.Record(stats.Key{Service: "users", Version: "v2", Upstream: "u2"}, i < 3, time.Millisecond)
			h.reg.Record(stats.Key{Service: "users", Version: "v1", Upstream: "u1"}, i < 3, time.Millisecond)
		}
		h.clock.Advance(time.Second)
		h.eng.Tick()
	}
	if s := h.status(); s.State != Progressing {
		t.Fatalf("relative analysis rolled back on a shared failure: %s", s.Reason)
	}
	h.both(5, 10, 6, time.Millisecond) // now v2 alone fails 60 %
	if s := h.status(); s.State != RolledBack || !strings.Contains(s.Reason, "(from: ") {
		t.Fatalf("state %s reason %q", s.State, s.Reason)
	}
}

func TestManualActions(t *testing.T) {
	h := newHarness(t, yamlWith("10", "[10, 25, 50, 100]", "rollback", ""))
	steps := []struct {
		action string
		weight float64
		want   string
		wantW  float64
		err    error
	}{
		{"pause", 0, Paused, 10, nil},
		{"pause", 0, "", 0, ErrTransition},
		{"weight", 40, Paused, 40, nil},
		{"resume", 0, Progressing, 40, nil},
		{"abort", 0, RolledBack, 0, nil},
		{"abort", 0, "", 0, ErrTransition},
		{"resume", 0, Progressing, 10, nil},
		{"weight", 60, Progressing, 60, nil},
		{"promote", 0, Promoted, 100, nil},
		{"promote", 0, "", 0, ErrTransition},
		{"resume", 0, "", 0, ErrTransition},
		{"weight", 5, Progressing, 5, nil},
	}
	for i, s := range steps {
		var st Status
		var err error
		switch s.action {
		case "pause":
			st, err = h.eng.Pause("users", "api")
		case "resume":
			st, err = h.eng.Resume("users", "api")
		case "abort":
			st, err = h.eng.Abort("users", "api")
		case "promote":
			st, err = h.eng.Promote("users", "api")
		case "weight":
			st, err = h.eng.SetWeight("users", s.weight, "api")
		}
		if s.err != nil {
			if !errors.Is(err, s.err) {
				t.Fatalf("step %d %s: err %v, want %v", i, s.action, err, s.err)
			}
			continue
		}
		if err != nil || st.State != s.want || st.Weight != s.wantW {
			t.Fatalf("step %d %s: %s %v (%v), want %s %v", i, s.action, st.State, st.Weight, err, s.want, s.wantW)
		}
	}
	if _, err := h.eng.Pause("nope", "api"); !errors.Is(err, ErrNoRollout) {
		t.Fatalf("unknown service: %v", err)
	}
	evs, _ := h.st.Events(store.EventQuery{Service: "users"})
	if len(evs) != 1+8 || evs[1].Actor != "api" {
		t.Fatalf("%d events (%+v); want the start and every successful action, actor api", len(evs), evs)
	}
}

// TestRestartInEachState restarts the engine over the same store in every
// state and requires the same state and weight back.
func TestRestartInEachState(t *testing.T) {
	text := yamlWith("10", "[10, 25, 50, 100]", "rollback", "")
	for _, c := range []struct {
		name string
		to   func(h *harness)
	}{
		{Progressing, func(h *harness) { h.eng.SetWeight("users", 25, "api") }},
		{Paused, func(h *harness) { h.eng.Pause("users", "api") }},
		{Promoted, func(h *harness) { h.eng.Promote("users", "api") }},
		{RolledBack, func(h *harness) { h.traffic("v2", 3, 10, 10, time.Millisecond) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, text)
			c.to(h)
			before := h.status()
			if before.State != c.name {
				t.Fatalf("setup reached %s", before.State)
			}
			h.start(text)
			after := h.status()
			if after.State != before.State || after.Weight != before.Weight || after.Step != before.Step {
				t.Fatalf("restart: %s %v step %d → %s %v step %d", before.State, before.Weight, before.Step, after.State, after.Weight, after.Step)
			}
		})
	}
	t.Run("changed block starts a new rollout", func(t *testing.T) {
		h := newHarness(t, text)
		h.eng.Abort("users", "api")
		h.start(yamlWith("10", "[10, 20, 100]", "rollback", ""))
		if s := h.status(); s.State != Progressing || s.Weight != 10 {
			t.Fatalf("new block: %s %v", s.State, s.Weight)
		}
	})
}

func TestConfigWeightFollowsFileUntilAPISetsIt(t *testing.T) {
	h := newHarness(t, yamlWith("10", "[]", "rollback", ""))
	h.start(yamlWith("30", "[]", "rollback", "")) // reload with a new weight
	if s := h.status(); s.Weight != 30 {
		t.Fatalf("file weight not followed: %v", s.Weight)
	}
	h.eng.SetWeight("users", 5, "api")
	h.start(yamlWith("40", "[]", "rollback", ""))
	if s := h.status(); s.Weight != 5 {
		t.Fatalf("a weight set through the API must survive reloads: %v", s.Weight)
	}
}

// TestSyncReusesTheSpecHashOnlyForTheSameBlock: a reload that keeps from,
// to and steps keeps the rollout (and its stored hash, not computed
// again); one that changes the steps starts a new rollout with the new
// block's hash.
func TestSyncReusesTheSpecHashOnlyForTheSameBlock(t *testing.T) {
	h := newHarness(t, yamlWith("10", "[10, 50]", "rollback", ""))
	started := h.status().StartedAt
	reload := func(text string) (*config.Config, store.RolloutState) {
		t.Helper()
		h.clock.Advance(time.Minute)
		cfg, err := config.Parse("test.yaml", []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		if err := h.eng.Sync(cfg); err != nil {
			t.Fatal(err)
		}
		st, ok, err := h.st.GetRollout("users")
		if !ok || err != nil {
			t.Fatalf("no stored state (%v)", err)
		}
		return cfg, st
	}
	cfg, st := reload(yamlWith("20", "[10, 50]", "pause", "")) // weight and on_failure only
	if s := h.status(); !s.StartedAt.Equal(started) || st.SpecHash != SpecHash(cfg.Services["users"].Rollout) {
		t.Fatalf("same block: started %v (want %v), hash %s (want %s)", s.StartedAt, started, st.SpecHash, SpecHash(cfg.Services["users"].Rollout))
	}
	cfg, st = reload(yamlWith("20", "[10, 60]", "pause", ""))
	if s := h.status(); s.StartedAt.Equal(started) || st.SpecHash != SpecHash(cfg.Services["users"].Rollout) {
		t.Fatalf("new steps: started %v (want a new start), hash %s (want %s)", s.StartedAt, st.SpecHash, SpecHash(cfg.Services["users"].Rollout))
	}
}
