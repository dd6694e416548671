package fleetstats

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/promsource"
	"github.com/turnout-gw/turnout/internal/rollout"
	"github.com/turnout-gw/turnout/internal/stats"
	"github.com/turnout-gw/turnout/internal/store"
	"github.com/turnout-gw/turnout/internal/testutil/testclock"
)

const rolloutYAML = `
upstreams: { u: { targets: [http://127.0.0.1:9001] } }
services:
  users:
    match: { path_prefix: /users }
    default: v1
    versions: { v1: { upstream: u }, v2: { upstream: u } }
    rollout: { from: v1, to: v2, weight: 10, steps: [10, 50, 100], step_interval: 1m,
               analysis: { window: 10s, min_requests: 20, max_error_rate: 0.05 } }
`

// newEngine returns a real rollout engine over st reading stats, synced to
// rolloutYAML.
func newEngine(t *testing.T, clock *testclock.Clock, st rollout.Stats) *rollout.Engine {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte(rolloutYAML))
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(store.MemoryPath, store.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	eng, err := rollout.New(db, st, rollout.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Sync(cfg); err != nil {
		t.Fatal(err)
	}
	return eng
}

var v2 = stats.Key{Service: "users", Version: "v2", Upstream: "u"}

// TestEngineRollsBackOnFleetErrors: the leader's own share of `to` is
// healthy, another member's fails; judged alone the leader would pass the
// step, judged on the fleet it rolls back.
func TestEngineRollsBackOnFleetErrors(t *testing.T) {
	clock := testclock.New(t0)
	local := stats.NewRegistry(clock.Now)
	b := newMember(t, "b", fleetToken, clock, nil)
	alone := newEngine(t, clock, local)
	src, err := New("a", local, membersOf(b), WithToken(func() string { return fleetToken }), WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	fleet := newEngine(t, clock, src)
	clock.Advance(time.Second)
	for range 30 {
		local.Record(v2, false, time.Millisecond)
		b.reg.Record(v2, true, time.Millisecond)
	}
	clock.Advance(time.Second)
	alone.Tick()
	fleet.Tick()
	if s, _ := alone.Status("users"); s.State != rollout.Progressing {
		t.Fatalf("the leader's own traffic alone: %s (%s), want progressing", s.State, s.Reason)
	}
	s, _ := fleet.Status("users")
	if s.State != rollout.RolledBack || s.Weight != 0 || !strings.Contains(s.Reason, "error_rate") {
		t.Fatalf("fleet: %s at %v (%s), want rolled_back", s.State, s.Weight, s.Reason)
	}
	if a := s.LastAnalysis; a == nil || a.Requests != 60 || a.Errors != 30 {
		t.Fatalf("analysis %+v: want 60 requests, 30 errors over both members", a)
	}
	if b.pulls.Load() != 1 {
		t.Fatalf("b was pulled %d times in one tick", b.pulls.Load())
	}
}

// TestEngineWaitsNamingSilentMember: while a member hangs, the rollout
// holds its step, whatever the others say, with a reason naming the
// member; once membership drops it, analysis resumes. The Source is read
// through promsource's Router, as the gateway wires it.
func TestEngineWaitsNamingSilentMember(t *testing.T) {
	clock := testclock.New(t0)
	local := stats.NewRegistry(clock.Now)
	hang := make(chan struct{})
	b := newMember(t, "b", fleetToken, clock, nil)
	c := newMember(t, "c", fleetToken, clock, hang)
	t.Cleanup(func() { close(hang) })
	live := membersOf(b, c)
	var dropped atomic.Bool
	members := func() []Member {
		if dropped.Load() {
			return membersOf(b)()
		}
		return live()
	}
	src, err := New("a", local, members, WithToken(func() string { return fleetToken }),
		WithTimeout(200*time.Millisecond), WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	router, err := promsource.NewRouter(src) // as internal/core wires the engine's stats
	if err != nil {
		t.Fatal(err)
	}
	eng := newEngine(t, clock, router)
	clock.Advance(time.Second)
	for range 30 {
		b.reg.Record(v2, true, time.Millisecond)
	}
	clock.Advance(time.Second)
	eng.Tick()
	s, _ := eng.Status("users")
	want := "waiting for metrics: fleet stats missing from 1 of 2 members: c (no answer within 200ms)"
	if s.State != rollout.Progressing || s.Weight != 10 || s.Reason != want {
		t.Fatalf("%s at %v: %q, want progressing at 10: %q", s.State, s.Weight, s.Reason, want)
	}
	dropped.Store(true) // c's lease expired
	clock.Advance(time.Second)
	eng.Tick()
	if s, _ := eng.Status("users"); s.State != rollout.RolledBack {
		t.Fatalf("after c left: %s (%s), want rolled_back on b's errors", s.State, s.Reason)
	}
}
