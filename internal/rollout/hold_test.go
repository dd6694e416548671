package rollout

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/store"
)

// blocker is a settable Blocker for the tests.
type blocker struct {
	mu     sync.Mutex
	reason string
	asked  int
}

func (b *blocker) set(r string) { b.mu.Lock(); b.reason = r; b.mu.Unlock() }

func (b *blocker) block(_ *config.Config, service string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.asked++
	if service != "users" {
		return ""
	}
	return b.reason
}

// heldHarness is a harness whose engine has a blocker holding "users".
func heldHarness(t *testing.T, reason string) (*harness, *blocker) {
	t.Helper()
	h := newHarness(t, yamlWith("0", "[10, 25, 50, 100]", "rollback", ""))
	b := &blocker{reason: reason}
	eng, err := New(h.st, h.reg, WithClock(h.clock.Now), WithBlocker(b.block))
	if err != nil {
		t.Fatal(err)
	}
	h.eng = eng
	if err := eng.Sync(h.cfg); err != nil {
		t.Fatal(err)
	}
	return h, b
}

func (h *harness) eventTypes() string {
	h.t.Helper()
	evs, err := h.st.Events(store.EventQuery{Service: "users"})
	if err != nil {
		h.t.Fatal(err)
	}
	var types []string
	for _, e := range evs {
		types = append(types, e.Type)
	}
	return strings.Join(types, ",")
}

func TestBlockerHoldsPendingThenReleases(t *testing.T) {
	h, b := heldHarness(t, "2 breaking changes: DELETE /users/{id}: api removed")
	s := h.status()
	if s.State != Pending || s.Weight != 0 || s.Reason != "held pending: 2 breaking changes: DELETE /users/{id}: api removed" {
		t.Fatalf("held: %s at %v, reason %q", s.State, s.Weight, s.Reason)
	}
	if w := h.eng.Plan(h.cfg)["users"]; w != 0 {
		t.Fatalf("Plan weight %v while held, want 0", w)
	}
	h.both(60, 10, 0, time.Millisecond) // healthy traffic does not move a held rollout
	if s := h.status(); s.State != Pending || s.Weight != 0 {
		t.Fatalf("after healthy traffic: %s at %v", s.State, s.Weight)
	}
	for name, act := range map[string]func(string, string) (Status, error){
		"resume": h.eng.Resume, "promote": h.eng.Promote, "pause": h.eng.Pause,
	} {
		if _, err := act("users", "test"); !errors.Is(err, ErrTransition) || !strings.Contains(err.Error(), "held pending") {
			t.Errorf("%s while held: %v, want ErrTransition naming the hold", name, err)
		}
	}
	if _, err := h.eng.SetWeight("users", 50, "test"); !errors.Is(err, ErrTransition) {
		t.Errorf("weight while held: %v", err)
	}
	if err := h.eng.Sync(h.cfg); err != nil { // same reason: nothing new
		t.Fatal(err)
	}
	if got := h.eventTypes(); got != "rollout_started,rollout_held" {
		t.Fatalf("events %s", got)
	}

	b.set("")
	if w := h.eng.Plan(h.cfg)["users"]; w != 10 {
		t.Fatalf("Plan weight %v once released, want the first step 10", w)
	}
	if err := h.eng.Sync(h.cfg); err != nil {
		t.Fatal(err)
	}
	s = h.status()
	if s.State != Progressing || s.Weight != 10 || s.Step != 0 || !strings.Contains(s.Reason, "no longer held") {
		t.Fatalf("released: %s at %v step %d, reason %q", s.State, s.Weight, s.Step, s.Reason)
	}
	if got := h.eventTypes(); got != "rollout_started,rollout_held,rollout_released" {
		t.Fatalf("events %s", got)
	}
	h.both(35, 10, 0, time.Millisecond)
	if s := h.status(); s.Weight != 25 {
		t.Fatalf("after a healthy step: %s at %v, want 25", s.State, s.Weight)
	}
}

func TestBlockerHoldsAProgressingRollout(t *testing.T) {
	h, b := heldHarness(t, "")
	h.both(35, 10, 0, time.Millisecond)
	if s := h.status(); s.Weight != 25 {
		t.Fatalf("weight %v, want 25", s.Weight)
	}
	b.set("1 breaking change: GET /users: removed the required property `name`")
	if err := h.eng.Sync(h.cfg); err != nil {
		t.Fatal(err)
	}
	if s := h.status(); s.State != Pending || s.Weight != 0 {
		t.Fatalf("%s at %v, want pending at 0", s.State, s.Weight)
	}
	b.set("2 breaking changes: another reason")
	if err := h.eng.Sync(h.cfg); err != nil {
		t.Fatal(err)
	}
	if s := h.status(); !strings.HasSuffix(s.Reason, "another reason") {
		t.Fatalf("reason %q not updated", s.Reason)
	}
	if got := h.eventTypes(); got != "rollout_started,step,rollout_held,rollout_held" {
		t.Fatalf("events %s", got)
	}
	if _, err := h.eng.Abort("users", "test"); err != nil {
		t.Fatalf("abort while held: %v", err)
	}
	b.set("")
	if err := h.eng.Sync(h.cfg); err != nil {
		t.Fatal(err)
	}
	if s := h.status(); s.State != RolledBack {
		t.Fatalf("an aborted rollout came back as %s", s.State)
	}
}

// TestBlockerHoldsAPromotedRollout: the gate applies after promotion too:
// a promoted rollout whose blocker starts holding goes pending at weight 0
// with an event, a manual weight or resume is refused naming the reason,
// and a release starts it again from its first step.
func TestBlockerHoldsAPromotedRollout(t *testing.T) {
	h, b := heldHarness(t, "")
	if _, err := h.eng.Promote("users", "test"); err != nil {
		t.Fatal(err)
	}
	b.set("1 breaking change: GET /users: removed the required property `name`")
	if w := h.eng.Plan(h.cfg)["users"]; w != 0 {
		t.Fatalf("Plan weight %v for a held promoted rollout, want 0", w)
	}
	if err := h.eng.Sync(h.cfg); err != nil {
		t.Fatal(err)
	}
	if s := h.status(); s.State != Pending || s.Weight != 0 || !strings.HasPrefix(s.Reason, "held pending: 1 breaking change") {
		t.Fatalf("%s at %v (%q), want held pending at 0", s.State, s.Weight, s.Reason)
	}
	if got := h.eventTypes(); got != "rollout_started,promotion,rollout_held" {
		t.Fatalf("events %s", got)
	}
	if _, err := h.eng.SetWeight("users", 50, "test"); !errors.Is(err, ErrTransition) || !strings.Contains(err.Error(), "removed the required property") {
		t.Fatalf("weight 50 while held: %v, want ErrTransition with the reason", err)
	}
	if _, err := h.eng.Resume("users", "test"); !errors.Is(err, ErrTransition) || !strings.Contains(err.Error(), "removed the required property") {
		t.Fatalf("resume while held: %v, want ErrTransition with the reason", err)
	}
	b.set("")
	if err := h.eng.Sync(h.cfg); err != nil {
		t.Fatal(err)
	}
	if s := h.status(); s.State != Progressing || s.Weight != 10 {
		t.Fatalf("released: %s at %v, want progressing at the first step 10", s.State, s.Weight)
	}
}

// TestBlockerHoldsARolledBackRollout: a rolled back rollout stays rolled
// back at weight 0 when held (one event, not one per reload), cannot be
// resumed while held, and stays rolled back once released.
func TestBlockerHoldsARolledBackRollout(t *testing.T) {
	h, b := heldHarness(t, "")
	if _, err := h.eng.Abort("users", "test"); err != nil {
		t.Fatal(err)
	}
	b.set("breaking")
	for range 2 {
		if err := h.eng.Sync(h.cfg); err != nil {
			t.Fatal(err)
		}
	}
	if s := h.status(); s.State != RolledBack || s.Weight != 0 || s.Reason != "rolled back and held: breaking" {
		t.Fatalf("%s at %v (%q), want rolled back and held", s.State, s.Weight, s.Reason)
	}
	if _, err := h.eng.Resume("users", "test"); !errors.Is(err, ErrTransition) || !strings.Contains(err.Error(), "breaking") {
		t.Fatalf("resume while held: %v", err)
	}
	b.set("")
	if err := h.eng.Sync(h.cfg); err != nil {
		t.Fatal(err)
	}
	if s := h.status(); s.State != RolledBack || s.Weight != 0 {
		t.Fatalf("released: %s at %v, want still rolled back at 0", s.State, s.Weight)
	}
	if got := h.eventTypes(); got != "rollout_started,abort,rollout_held,rollout_released" {
		t.Fatalf("events %s", got)
	}
	if _, err := h.eng.Resume("users", "test"); err != nil {
		t.Fatalf("resume once released: %v", err)
	}
}

// TestHoldSurvivesRestart: the hold is stored; an engine started later
// whose blocker is satisfied lets the rollout go.
func TestHoldSurvivesRestart(t *testing.T) {
	h, _ := heldHarness(t, "breaking")
	eng, err := New(h.st, h.reg, WithClock(h.clock.Now), WithBlocker(func(*config.Config, string) string { return "breaking" }))
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Sync(h.cfg); err != nil {
		t.Fatal(err)
	}
	if s, _ := eng.Status("users"); s.State != Pending || s.Reason != "held pending: breaking" {
		t.Fatalf("after restart: %s %q", s.State, s.Reason)
	}
	eng, err = New(h.st, h.reg, WithClock(h.clock.Now), WithBlocker(func(*config.Config, string) string { return "" }))
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Sync(h.cfg); err != nil {
		t.Fatal(err)
	}
	if s, _ := eng.Status("users"); s.State != Progressing || s.Weight != 10 {
		t.Fatalf("released after restart: %s at %v", s.State, s.Weight)
	}
}
