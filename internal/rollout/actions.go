package rollout

import (
	"fmt"

	"github.com/turnout-gw/turnout/internal/store"
)

// Promote sends all unpinned traffic to `to` and ends the rollout.
func (e *Engine) Promote(service, actor string) (Status, error) {
	return e.act(service, actor, "promotion", func(t *tracked) (string, error) {
		if t.state.State == Promoted {
			return "", fmt.Errorf("%w: already promoted", ErrTransition)
		}
		t.state.State, t.state.Weight = Promoted, 100
		t.state.Step = len(t.spec.Steps) - 1
		return "promoted by " + actor, nil
	})
}

// Pause freezes the weight; analysis keeps running but does not act.
func (e *Engine) Pause(service, actor string) (Status, error) {
	return e.act(service, actor, "pause", func(t *tracked) (string, error) {
		if t.state.State != Progressing && t.state.State != Pending {
			return "", fmt.Errorf("%w: cannot pause a rollout that is %s", ErrTransition, t.state.State)
		}
		t.state.State = Paused
		return fmt.Sprintf("paused by %s at weight %.4g", actor, t.state.Weight), nil
	})
}

// Resume restarts analysis and stepping: from paused at the same weight,
// from rolled_back or pending at the first step (or the configured weight).
// Analysis only judges traffic from now on.
func (e *Engine) Resume(service, actor string) (Status, error) {
	return e.act(service, actor, "resume", func(t *tracked) (string, error) {
		switch t.state.State {
		case Paused:
		case RolledBack, Pending:
			w := t.spec.Weight
			t.state.Step = stepAtOrBelow(t.spec.Steps, w)
			if len(t.spec.Steps) > 0 && w <= 0 {
				w, t.state.Step = t.spec.Steps[0], 0
			}
			if w <= 0 {
				return "", fmt.Errorf("%w: no weight to resume at (the rollout has weight 0 and no steps); set a weight", ErrTransition)
			}
			t.state.Weight = w
		default:
			return "", fmt.Errorf("%w: cannot resume a rollout that is %s", ErrTransition, t.state.State)
		}
		t.state.State = Progressing
		return fmt.Sprintf("resumed by %s at weight %.4g", actor, t.state.Weight), nil
	})
}

// Abort sends all unpinned traffic back to `from` and keeps it there.
func (e *Engine) Abort(service, actor string) (Status, error) {
	return e.act(service, actor, "abort", func(t *tracked) (string, error) {
		if t.state.State == RolledBack {
			return "", fmt.Errorf("%w: already rolled back", ErrTransition)
		}
		t.state.State, t.state.Weight = RolledBack, 0
		return "aborted by " + actor + ": rolled back to weight 0", nil
	})
}

// SetWeight sets the weight by hand. A paused rollout stays paused; any
// other becomes progressing at that weight (analysis guards it), or
// promoted at 100. Later steps continue from the largest step ≤ weight.
func (e *Engine) SetWeight(service string, weight float64, actor string) (Status, error) {
	if weight < 0 || weight > 100 {
		return Status{}, fmt.Errorf("weight %v outside 0..100", weight)
	}
	return e.act(service, actor, "weight_change", func(t *tracked) (string, error) {
		from := t.state.Weight
		t.state.Weight = weight
		t.state.Step = stepAtOrBelow(t.spec.Steps, weight)
		switch {
		case t.state.State == Paused:
		case weight >= 100:
			t.state.State = Promoted
		default:
			t.state.State = Progressing
		}
		return fmt.Sprintf("weight %.4g → %.4g set by %s", from, weight, actor), nil
	})
}

// act runs one manual action: mutate under the lock, persist, record the
// event, then publish and notify without the lock.
func (e *Engine) act(service, actor, typ string, f func(t *tracked) (string, error)) (Status, error) {
	e.mu.Lock()
	t := e.ro[service]
	if t == nil {
		e.mu.Unlock()
		return Status{}, ErrNoRollout
	}
	prev := t.state
	if prev.WeightSource == SourceHold && typ != "abort" {
		e.mu.Unlock()
		return Status{}, errHeld(prev)
	}
	msg, err := f(t)
	if err != nil {
		t.state = prev
		e.mu.Unlock()
		return Status{}, err
	}
	now := e.now()
	t.state.Reason = msg
	t.state.UpdatedAt, t.state.StepStartedAt = now, now
	t.state.WeightSource = SourceAPI
	t.lastEval = now
	// The state and its event are written together: the action is
	// recorded once, or refused.
	stored, err := e.st.Write(store.Batch{Rollouts: []store.RolloutState{t.state}, Events: []store.Event{e.newEvent(service, typ, actor, msg,
		map[string]any{"from_weight": prev.Weight, "weight": t.state.Weight, "from_state": prev.State, "state": t.state.State})}})
	if err != nil {
		t.state = prev
		e.mu.Unlock()
		return Status{}, fmt.Errorf("persisting rollout state: %w", err)
	}
	ev := stored[0]
	e.log.Info(msg, "service", service, "event", typ, "actor", actor)
	st := e.status(service, t)
	e.publish(service)
	spec := t.spec.Notify
	e.mu.Unlock()
	e.observed(st)
	e.send([]note{{ev: ev, spec: spec}})
	return st, nil
}
