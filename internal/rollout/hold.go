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

// WithBlocker sets the Blocker. It applies in every state: a rollout it
// holds is pending at weight 0 with the blocker's reason, whatever its
// steps, weight or earlier promotion say (a promoted rollout whose `to`
// stops satisfying the blocker goes back to `from`); a rolled back one stays
// rolled back at weight 0, marked held. Manual actions other than abort are
// refused while it holds, with its reason. When a later configuration load
// finds the blocker satisfied, a held pending rollout starts again from the
// configured weight or first step, and a held rolled back one stays rolled
// back until a person resumes it.
func WithBlocker(b Blocker) Option { return func(e *Engine) error { e.block = b; return nil } }

// Hold event types.
const (
	eventHold    = "rollout_held"
	eventRelease = "rollout_released"
)

// Reason prefixes of held rollouts.
const (
	heldPending    = "held pending: "
	heldRolledBack = "rolled back and held: "
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
	case reason != "" && !started && s.State == RolledBack:
		// Already at weight 0: held so that no resume or weight reopens it.
		msg := heldRolledBack + reason
		if held && s.Reason == msg {
			return s, ""
		}
		s.WeightSource, s.Reason, s.UpdatedAt = SourceHold, msg, now
		return s, eventHold
	case reason != "":
		msg := heldPending + reason
		if held && s.Reason == msg {
			return s, ""
		}
		s.State, s.Weight, s.Step = Pending, 0, -1
		s.WeightSource, s.Reason, s.UpdatedAt, s.StepStartedAt = SourceHold, msg, now, now
		return s, eventHold
	case held && s.State == RolledBack:
		s.WeightSource, s.UpdatedAt = SourceEngine, now
		s.Reason = "no longer held: still rolled back at weight 0 until resumed"
		return s, eventRelease
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

// errHeld refuses a manual action on a held rollout, with the hold's
// reason.
func errHeld(s store.RolloutState) error {
	return fmt.Errorf("%w: the rollout is %s; only abort is possible until a configuration load (a reload) finds the cause gone", ErrTransition, s.Reason)
}
