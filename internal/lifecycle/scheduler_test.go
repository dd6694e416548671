package lifecycle

import (
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/store"
)

const scheduleYAML = `
upstreams:
  u: {targets: ["http://127.0.0.1:1"]}
services:
  users:
    match: {path_prefix: /users}
    default: v2
    versions:
      v2: {upstream: u}
      v1:
        upstream: u
        successor: v2
        schedule: [{at: 2027-01-15, lifecycle: deprecated}, {at: 2027-03-01, lifecycle: redirect}, {at: 2027-04-01, lifecycle: gone}]
        hold_while: {requests: 1, window: 10m}
`

// clock is a fake clock the test moves.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// counter is the usage the test drives: the requests v1 saw in the window
// and who sent them.
type counter struct {
	mu       sync.Mutex
	requests uint64
	clients  []string
	window   time.Duration
}

func (c *counter) set(n uint64, clients ...string) {
	c.mu.Lock()
	c.requests, c.clients = n, clients
	c.mu.Unlock()
}

func (c *counter) usage() Usage {
	return UsageFunc(func(service, version string, window time.Duration) (uint64, []string) {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.window = window
		if service != "users" || version != "v1" {
			return 0, nil
		}
		return c.requests, append([]string(nil), c.clients...)
	})
}

type fixture struct {
	t         *testing.T
	st        store.Store
	clk       *clock
	use       *counter
	s         *Scheduler
	cfg       *config.Config
	published atomic.Int64
}

func newFixture(t *testing.T, st store.Store, start time.Time) *fixture {
	t.Helper()
	cfg, err := config.Parse("s.yaml", []byte(scheduleYAML))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, st: st, clk: &clock{t: start}, use: &counter{}, cfg: cfg}
	f.s, err = New(st, WithClock(f.clk.now), WithUsage(f.use.usage()), WithApply(func() error { f.published.Add(1); return nil }))
	if err != nil {
		t.Fatal(err)
	}
	f.s.Sync(cfg)
	return f
}

func (f *fixture) effective() string {
	if l := f.s.Effective(f.cfg)["users"]["v1"]; l != "" {
		return l
	}
	return f.cfg.Services["users"].Versions["v1"].Lifecycle
}

func (f *fixture) events(typ string) []store.Event {
	f.t.Helper()
	evs, err := f.st.Events(store.EventQuery{Service: "users", Limit: 100})
	if err != nil {
		f.t.Fatal(err)
	}
	var out []store.Event
	for _, e := range evs {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func memStore(t *testing.T) store.Store {
	st, err := store.Open(store.MemoryPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// TestEachStepFiresAtItsTime: nothing happens before a step's time; at
// its time the step is applied, published and recorded.
func TestEachStepFiresAtItsTime(t *testing.T) {
	f := newFixture(t, memStore(t), day(2027, 1, 14))
	steps := []struct {
		at   time.Time
		want string
	}{{day(2027, 1, 15), "deprecated"}, {day(2027, 3, 1), "redirect"}, {day(2027, 4, 1), "gone"}}
	prev := "active"
	for i, s := range steps {
		f.clk.set(s.at.Add(-time.Second))
		f.s.Tick()
		if got := f.effective(); got != prev {
			t.Fatalf("a second before step %d: %s, want %s", i, got, prev)
		}
		f.clk.set(s.at)
		f.s.Tick()
		if got := f.effective(); got != s.want {
			t.Fatalf("at step %d: %s, want %s", i, got, s.want)
		}
		if got := f.published.Load(); got != int64(i+1) {
			t.Fatalf("published %d tables after step %d", got, i)
		}
		prev = s.want
	}
	ev := f.events(EventChanged)
	if len(ev) != 3 {
		t.Fatalf("%d lifecycle_changed events, want 3: %+v", len(ev), ev)
	}
	last := ev[2].Fields
	if last["from"] != "redirect" || last["to"] != "gone" || last["at"] != "2027-04-01T00:00:00Z" || last["actor"] != ActorSchedule {
		t.Fatalf("last event fields: %v", last)
	}
	st, _ := f.s.Status("users", "v1")
	if st.Next != nil || st.Lifecycle != "gone" || st.Applied == nil || st.Applied.Actor != ActorSchedule {
		t.Fatalf("status after the last step: %+v", st)
	}
}

// TestGuardHoldsGoneWhileAClientCalls: the gone step waits while one
// client still calls v1, with one held event naming it however many
// ticks pass, and is applied once the client stops.
func TestGuardHoldsGoneWhileAClientCalls(t *testing.T) {
	f := newFixture(t, memStore(t), day(2027, 3, 31))
	f.s.Tick() // deprecated and redirect: nobody calls yet
	if got := f.effective(); got != "redirect" {
		t.Fatalf("before the gone step: %s", got)
	}
	f.use.set(3, "client-a")
	f.clk.set(day(2027, 4, 1))
	for range 5 {
		f.s.Tick()
	}
	if got := f.effective(); got != "redirect" {
		t.Fatalf("a held gone step was applied: %s", got)
	}
	if f.use.window != 10*time.Minute {
		t.Fatalf("the guard read a window of %v, want 10m", f.use.window)
	}
	st, _ := f.s.Status("users", "v1")
	want := "held: v1 still called: 3 requests in the last 10m by client-a"
	if !st.Held || st.Reason != want || st.Next == nil || st.Next.Lifecycle != "gone" || !st.Due {
		t.Fatalf("status while held: %+v, want reason %q", st, want)
	}
	if held := f.events(EventHeld); len(held) != 1 || !strings.Contains(held[0].Message, "client-a") {
		t.Fatalf("held events: %+v, want one naming client-a", held)
	}
	f.use.set(0)
	f.s.Tick()
	if got := f.effective(); got != "gone" {
		t.Fatalf("after the client stopped: %s, want gone", got)
	}
	if st, _ := f.s.Status("users", "v1"); st.Held || st.Next != nil {
		t.Fatalf("status after release: %+v", st)
	}
}

// TestForceOverridesTheGuard: a forced step is applied over the hold and
// the event names the person; a step not due cannot be forced.
func TestForceOverridesTheGuard(t *testing.T) {
	f := newFixture(t, memStore(t), day(2027, 2, 1))
	f.use.set(7, "client-a", "client-b")
	f.s.Tick()
	if _, err := f.s.Force("users", "v1", "alice"); !errors.Is(err, ErrNotDue) {
		t.Fatalf("forcing a step not due: %v, want ErrNotDue", err)
	}
	f.clk.set(day(2027, 3, 1))
	f.s.Tick()
	if got := f.effective(); got != "deprecated" {
		t.Fatalf("held redirect: %s", got)
	}
	st, err := f.s.Force("users", "v1", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if st.Lifecycle != "redirect" || st.Applied.Actor != "force:alice" || f.effective() != "redirect" {
		t.Fatalf("after force: %+v", st)
	}
	ev := f.events(EventChanged)
	last := ev[len(ev)-1]
	if last.Actor != "force:alice" || last.Fields["actor"] != "force:alice" || !strings.Contains(last.Message, "forced over: held: v1 still called: 7 requests in the last 10m by client-a, client-b") {
		t.Fatalf("forced event: %+v", last)
	}
	if _, err := f.s.Force("users", "v2", "alice"); !errors.Is(err, ErrNoSchedule) {
		t.Fatalf("forcing a version without a schedule: %v", err)
	}
}

// TestNoUsageHolds: without a usage source a guarded step is held, with
// a reason that says so, rather than applied blind.
func TestNoUsageHolds(t *testing.T) {
	cfg, err := config.Parse("s.yaml", []byte(scheduleYAML))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(memStore(t), WithClock(func() time.Time { return day(2027, 4, 2) }))
	if err != nil {
		t.Fatal(err)
	}
	s.Sync(cfg)
	s.Tick()
	st, _ := s.Status("users", "v1")
	if st.Lifecycle != "deprecated" || !st.Held || !strings.Contains(st.Reason, "no usage is known") {
		t.Fatalf("status without usage: %+v", st)
	}
}

// TestRestartKeepsAnAppliedStep: a step applied before a restart is the
// effective lifecycle after it, from the state file, even before any
// tick; a step due during the downtime is applied at the first tick.
func TestRestartKeepsAnAppliedStep(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, st, day(2027, 3, 2))
	f.s.Tick()
	if got := f.effective(); got != "redirect" {
		t.Fatalf("before the restart: %s", got)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err = store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	g := newFixture(t, st, day(2027, 4, 2))
	if got := g.effective(); got != "redirect" {
		t.Fatalf("after the restart, before a tick: %s, want redirect", got)
	}
	g.s.Tick()
	if got := g.effective(); got != "gone" {
		t.Fatalf("after the restart's first tick: %s, want gone", got)
	}
}

// TestEditedScheduleKeepsWhatItSays: an applied step counts for the steps
// of an edited schedule due at or before it; removing the gone step from
// the file brings the version back to the step before, and a hold of a
// step whose schedule changed is forgotten.
func TestEditedScheduleKeepsWhatItSays(t *testing.T) {
	f := newFixture(t, memStore(t), day(2027, 4, 2))
	f.s.Tick()
	if got := f.effective(); got != "gone" {
		t.Fatalf("before the edit: %s", got)
	}
	edited, err := config.Parse("s.yaml", []byte(strings.Replace(scheduleYAML, ", {at: 2027-04-01, lifecycle: gone}", ", {at: 2027-05-01, lifecycle: gone}", 1)))
	if err != nil {
		t.Fatal(err)
	}
	f.cfg = edited
	f.s.Sync(edited)
	if got := f.effective(); got != "redirect" {
		t.Fatalf("gone moved to May: %s, want redirect", got)
	}
	f.use.set(1, "late-client")
	f.clk.set(day(2027, 5, 1))
	f.s.Tick()
	if st, _ := f.s.Status("users", "v1"); !st.Held || st.Lifecycle != "redirect" {
		t.Fatalf("the moved gone step: %+v", st)
	}
	f.s.Sync(f.cfg) // unchanged schedule: the hold stays
	if st, _ := f.s.Status("users", "v1"); !st.Held {
		t.Fatalf("a reload without change forgot the hold: %+v", st)
	}
}
