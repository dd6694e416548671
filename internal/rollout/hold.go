package rollout

import (
	"fmt"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/store"
)

// SourceHold is the weight source of a rollout a Blocker holds pending at
// weight 0 (for example require_compatible with breaking contracts).
const SourceHold = store.SourceHold

// Blocker says why a configured rollout may not proceed ("" when it may).
// It is asked for each rollout at every Plan and Sync, with the
// configuration being applied; it must not call back into the Engine.
type Blocker func(cfg *config.Config, service string) string

// WithBlocker sets the Blocker. A rollout it holds is pending at weight 0
// with the blocker's reason, whatever its steps and weight say; manual
// actions other than abort are refused while it holds. When a later
// configuration load finds the blocker satisfied, the rollout starts again
// from the configured weight or first step. Promoted and rolled back
// rollouts are left as they are.
func WithBlocker(b Blocker) Option { return func(e *Engine) error { e.block = b; return nil } }

// Hold event types.
const (
	eventHold    = "rollout_held"
	eventRelease = "rollout_released"
)

// hold applies the blocker's verdict to a reconciled state; e.mu is held.
// It returns the state and the event type the change is ("" for none).
func (e *Engine) hold(cfg *config.Config, name string, ro *config.Rollout, s store.RolloutState, started bool, now time.Time) (store.RolloutState, string) {
	reason := ""
	if e.block != nil {
		reason = e.block(cfg, name)
	}
	held := s.WeightSource == SourceHold
	switch {
	case reason != "":
		if !started && !held && (s.State == Promoted || s.State == RolledBack) {
			return s, ""
		}
		msg := "held pending: " + reason
		if held && s.Reason == msg {
			return s, ""
		}
		s.State, s.Weight, s.Step = Pending, 0, -1
		s.WeightSource, s.Reason, s.UpdatedAt, s.StepStartedAt = SourceHold, msg, now, now
		return s, eventHold
	case held:
		n := initial(name, ro, s.SpecHash, now)
		n.Reason = fmt.Sprintf("no longer held: %s at weight %.4g", n.State, n.Weight)
		return n, eventRelease
	}
	return s, ""
}

// holdEvent is the event of a hold or a release.
func holdEvent(at time.Time, name, typ string, ro *config.Rollout, s store.RolloutState) store.Event {
	msg := fmt.Sprintf("rollout %s → %s %s", ro.From, ro.To, s.Reason)
	if typ == eventRelease {
		msg = fmt.Sprintf("rollout %s → %s proceeds: %s", ro.From, ro.To, s.Reason)
	}
	return store.Event{At: at, Service: name, Type: typ, Actor: SourceEngine, Message: msg,
		Fields: map[string]any{"from": ro.From, "to": ro.To, "weight": s.Weight, "state": s.State, "reason": s.Reason}}
}

// errHeld refuses a manual action on a held rollout.
func errHeld(s store.RolloutState) error {
	return fmt.Errorf("%w: the rollout is %s; only abort is possible until the configuration lets it go", ErrTransition, s.Reason)
}
