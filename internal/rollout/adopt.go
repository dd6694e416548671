package rollout

import (
	"cmp"

	"github.com/turnout-gw/turnout/internal/store"
)

// WithStepGuard holds the steps of a rollout while guard returns a reason
// for its service (a fleet whose members disagree on the rollout spec):
// analysis goes on and still rolls back or pauses on failure, but no step
// is taken, and the reason says why. guard is called with the engine's
// lock held: it must only read.
func WithStepGuard(guard func(service string) string) Option {
	return func(e *Engine) error { e.guard = guard; return nil }
}

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
	e.publish(s.Service)
	e.mu.Unlock()
	e.observed(st)
	return true
}

// Reassert writes the state of every tracked rollout whose spec the store
// does not hold (its state is another spec's, or none) with a
// rollout_started event: a fleet's new leader makes the fleet's state the
// rollouts it is configured with, which the members that agree adopt. It
// returns the first error of the writes, all of which are tried.
func (e *Engine) Reassert() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	var first error
	for _, name := range e.names {
		t := e.ro[name]
		if s, ok, err := e.st.GetRollout(name); err == nil && ok && s.SpecHash == t.state.SpecHash {
			continue
		}
		ev := e.newEvent(name, "rollout_started", SourceConfig, "rollout "+t.spec.From+" → "+t.spec.To+" started at weight "+
			formatWeight(t.state.Weight)+" ("+t.state.State+") by the leader", map[string]any{"from": t.spec.From, "to": t.spec.To, "weight": t.state.Weight, "state": t.state.State})
		if _, err := e.st.Write(store.Batch{Rollouts: []store.RolloutState{t.state}, Events: []store.Event{ev}}); err != nil {
			first = cmp.Or(first, err)
			// Held, not driven, while the step guard says why (the fleet
			// runs a newer spec than this leader's configuration).
			if why := e.guardReason(name); why != "" {
				t.state.Reason = "step held: " + why
				e.publish(name)
			}
		}
	}
	return first
}

// guardReason is the step guard's reason for service, "" without one;
// e.mu is held.
func (e *Engine) guardReason(service string) string {
	if e.guard == nil {
		return ""
	}
	return e.guard(service)
}
