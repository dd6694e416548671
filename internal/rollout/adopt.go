package rollout

import (
	"github.com/turnout-gw/turnout/internal/store"
)

// Adopt makes s, a state another process wrote (the fleet's leader, or a
// person through another member), the state of its service's rollout
// here, and publishes its weight as any change is: a step, a rollback, a
// pause or a promotion decided elsewhere is applied by every member. It
// writes nothing to the store (the writer did). A state of a rollout not
// configured here, or of another rollout spec (another from, to or steps:
// a member with a different configuration), is not adopted; Adopt reports
// whether s was.
func (e *Engine) Adopt(s store.RolloutState) bool {
	e.mu.Lock()
	t := e.ro[s.Service]
	if t == nil || t.state.SpecHash != s.SpecHash {
		e.mu.Unlock()
		return false
	}
	if t.state.State == s.State && t.state.Weight == s.Weight && t.state.Step == s.Step &&
		t.state.StepStartedAt.Equal(s.StepStartedAt) && t.state.Reason == s.Reason {
		e.mu.Unlock()
		return true // this member's own write, or nothing it serves changed
	}
	t.state = s
	// Analysis judges the new step's traffic from its start.
	t.last, t.lastEval = nil, e.now()
	st := e.status(s.Service, t)
	e.mu.Unlock()
	e.observed(st)
	return true
}
