package rollout

import (
	"slices"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/store"
)

// TestAdoptAppliesAnotherMembersState: a rollback written elsewhere is
// adopted and its weight published; a state of another rollout spec is not,
// and the store is not written by adopting.
func TestAdoptAppliesAnotherMembersState(t *testing.T) {
	h := newHarness(t, yamlWith("10", "[10, 25, 50, 100]", "rollback", ""))
	before, err := h.st.Events(store.EventQuery{})
	if err != nil {
		t.Fatal(err)
	}
	stored, _, _ := h.st.GetRollout("users")
	remote := stored
	remote.State, remote.Weight, remote.Reason = RolledBack, 0, "rolled back by the leader"
	if !h.eng.Adopt(remote) {
		t.Fatal("a state of the same rollout was not adopted")
	}
	if s := h.status(); s.State != RolledBack || s.Weight != 0 || s.Reason != "rolled back by the leader" {
		t.Fatalf("status after Adopt: %+v", s)
	}
	h.mu.Lock()
	applied := slices.Clone(h.applied)
	h.mu.Unlock()
	if len(applied) == 0 || applied[len(applied)-1] != 0 {
		t.Fatalf("published weights %v, want the last 0", applied)
	}
	other := remote
	other.SpecHash, other.State, other.Weight = "another-spec", Progressing, 50
	if h.eng.Adopt(other) {
		t.Fatal("a state of another rollout spec was adopted")
	}
	if s := h.status(); s.Weight != 0 {
		t.Fatalf("weight %v after a refused Adopt, want 0", s.Weight)
	}
	after, _ := h.st.Events(store.EventQuery{})
	if len(after) != len(before) {
		t.Fatalf("Adopt wrote %d events", len(after)-len(before))
	}
}

// TestStepGuardHoldsSteps: while the guard gives a reason the healthy
// rollout takes no step and says why; once it gives none the step is taken.
func TestStepGuardHoldsSteps(t *testing.T) {
	h := newHarness(t, yamlWith("10", "[10, 25, 50, 100]", "rollback", ""))
	why := "members b differ"
	h.eng.guard = func(string) string { return why }
	h.both(40, 30, 0, 10*time.Millisecond)
	if s := h.status(); s.Weight != 10 || s.Reason != "step held: members b differ" {
		t.Fatalf("held rollout: weight %v, reason %q", s.Weight, s.Reason)
	}
	why = ""
	h.both(2, 30, 0, 10*time.Millisecond)
	if s := h.status(); s.Weight != 25 {
		t.Fatalf("released rollout at weight %v, want the next step 25", s.Weight)
	}
}
