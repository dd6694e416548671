package rollout

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/stats"
	"github.com/turnout-gw/turnout/internal/store"
)

// Tick evaluates every rollout whose analysis interval has elapsed and acts
// on the result: a failure rolls back (weight 0, rolled_back) or pauses, a
// pass past step_interval advances to the next step, and the last step
// promotes. Too little traffic holds the step and says so in the reason.
//
// The analyses only read the stats (and gates), so they run without the
// engine's lock: with thousands of rollouts they take long, and a reload's
// Plan and Sync, the API and the actions would wait for them. A rollout
// that was reloaded or acted on in between is analysed again at the next
// tick instead.
//
// With a RemoteStats, the rollouts it reads from elsewhere (Prometheus)
// are analysed after the others have been acted on, up to
// remoteParallelism at once: a slow or hanging server delays only them,
// by at most its query timeout, never a rollback decided by Turnout's own
// stats. A RemoteStats that is a Prefetcher is first told all their
// windows at once.
func (e *Engine) Tick() {
	var todo []due
	e.mu.Lock()
	now := e.now()
	for name, t := range e.ro {
		if t.state.State == Promoted || t.state.State == RolledBack || t.state.State == Pending {
			continue
		}
		if !t.lastEval.IsZero() && now.Sub(t.lastEval) < t.spec.Analysis.Interval.D() {
			continue
		}
		todo = append(todo, due{name, t, t.spec, t.state.StepStartedAt, t.lastEval})
		t.lastEval = now
	}
	e.mu.Unlock()
	var remote []due
	if rs, ok := e.stats.(RemoteStats); ok {
		local := todo[:0:0]
		for _, d := range todo {
			if rs.Remote(d.name) {
				remote = append(remote, d)
			} else {
				local = append(local, d)
			}
		}
		todo = local
	}
	results := make([]Analysis, len(todo))
	for i, d := range todo {
		results[i] = analyze(now, d.name, d.spec, e.stats, e.gates, d.since)
	}
	e.settle(now, todo, results)
	if len(remote) > 0 {
		if p, ok := e.stats.(Prefetcher); ok {
			p.Prefetch(windowQueries(remote))
		}
		e.settle(now, remote, e.analyzeParallel(now, remote))
	}
}

// windowQueries are the windows the analyses of todo read.
func windowQueries(todo []due) []stats.Query {
	qs := make([]stats.Query, len(todo))
	for i, d := range todo {
		qs[i] = stats.Query{Service: d.name, Versions: []string{d.spec.To, d.spec.From},
			Window: judgeWindow(&d.spec.Analysis, d.since), Since: d.since}
	}
	return qs
}

// due is a rollout Tick analyses.
type due struct {
	name     string
	t        *tracked
	spec     *config.Rollout
	since    time.Time // the step's start, the analysis window's bound
	lastEval time.Time // before this tick
}

// remoteParallelism bounds the analyses of one tick that read a RemoteStats
// at once.
const remoteParallelism = 16

// analyzeParallel analyses todo, up to remoteParallelism at once.
func (e *Engine) analyzeParallel(now time.Time, todo []due) []Analysis {
	results := make([]Analysis, len(todo))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(len(todo), remoteParallelism) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < len(todo); i = int(next.Add(1) - 1) {
				d := todo[i]
				results[i] = analyze(now, d.name, d.spec, e.stats, e.gates, d.since)
			}
		}()
	}
	wg.Wait()
	return results
}

// settle acts on the analyses of todo made at now, skipping the rollouts
// reloaded or acted on since; it takes e.mu.
func (e *Engine) settle(now time.Time, todo []due, results []Analysis) {
	var changed []Status
	var notes []note
	settled := make([]string, 0, len(todo))
	e.mu.Lock()
	// What reads answer changes once, after the writes: a read never waits
	// for them.
	defer func() {
		e.publish(settled...)
		e.mu.Unlock()
		for _, st := range changed {
			e.observed(st)
		}
		e.send(notes)
	}()
	for i, d := range todo {
		name, t := d.name, d.t
		if e.ro[name] != t || t.spec != d.spec || !t.state.StepStartedAt.Equal(d.since) {
			if t.lastEval.Equal(now) {
				t.lastEval = d.lastEval // changed meanwhile: analyse at the next tick
			}
			continue
		}
		a := results[i]
		t.last = &a
		settled = append(settled, name)
		prev := t.state
		if t.state.State != Progressing {
			e.remember(t, evaluation(&a, prev.Weight, prev.Weight, DecisionNone))
			continue
		}
		var evs []store.Event
		switch a.Result {
		case ResultFail:
			evs = e.fail(name, t, &a, now)
		case ResultWaiting:
			t.state.Reason = a.Reason
		case ResultPass:
			t.state.Reason = a.Reason
			if ev := e.advance(name, t, now); ev != nil {
				evs = append(evs, *ev)
			}
		}
		rec := evaluation(&a, prev.Weight, t.state.Weight, decision(&a, prev.State, prev.Weight, t))
		if t.state.State != prev.State || t.state.Weight != prev.Weight {
			t.state.LastAnalysis, _ = json.Marshal(a)
			// The state and its events are written together: a step is
			// one event, recorded with it or not at all.
			stored, err := e.st.Write(store.Batch{Rollouts: []store.RolloutState{t.state}, Events: evs})
			if err != nil {
				e.log.Error("persisting rollout state", "service", name, "error", err)
				if errors.Is(err, store.ErrNotWritten) {
					// Not this member's to decide now (the fleet's state
					// moved on or is unreachable): keep what is served.
					t.state = prev
					rec.Decision, rec.NewWeight = DecisionNone, prev.Weight
					e.remember(t, rec)
					continue
				}
				stored = evs
			}
			for _, ev := range stored {
				e.log.Info(ev.Message, "service", name, "event", ev.Type, "actor", ev.Actor)
				notes = append(notes, note{ev: ev, spec: t.spec.Notify})
			}
			changed = append(changed, e.status(name, t))
		}
		e.remember(t, rec)
	}
}

// fail applies on_failure and returns its events, not yet written; e.mu is
// held.
func (e *Engine) fail(name string, t *tracked, a *Analysis, now time.Time) []store.Event {
	fields := map[string]any{"weight": t.state.Weight, "checks": a.Checks, "requests": a.Requests, "errors": a.Errors}
	out := []store.Event{e.newEvent(name, "analysis_failure", SourceEngine, "analysis failed: "+a.Reason, fields)}
	var ev store.Event
	t.state.UpdatedAt = now
	t.state.WeightSource = SourceEngine
	if t.spec.OnFailure == "pause" {
		t.state.State = Paused
		t.state.Reason = "paused by analysis: " + a.Reason
		ev = e.newEvent(name, "pause", SourceEngine, fmt.Sprintf("paused at weight %.4g: %s", t.state.Weight, a.Reason), map[string]any{"weight": t.state.Weight})
	} else {
		from := t.state.Weight
		t.state.State, t.state.Weight = RolledBack, 0
		t.state.Reason = "rolled back: " + a.Reason
		ev = e.newEvent(name, "rollback", SourceEngine, fmt.Sprintf("rolled back from weight %.4g to 0: %s", from, a.Reason),
			map[string]any{"from_weight": from, "weight": 0.0, "checks": a.Checks})
	}
	return append(out, ev)
}

// advance moves to the next step when the current one has lasted
// step_interval and returns its event, not yet written; e.mu is held.
func (e *Engine) advance(name string, t *tracked, now time.Time) *store.Event {
	steps := t.spec.Steps
	if len(steps) == 0 || now.Sub(t.state.StepStartedAt) < t.spec.StepInterval.D() {
		return nil
	}
	if e.guard != nil {
		if why := e.guard(name); why != "" {
			t.state.Reason = "step held: " + why
			return nil
		}
	}
	next := t.state.Step + 1
	for next < len(steps) && steps[next] <= t.state.Weight {
		next++
	}
	if next >= len(steps) {
		return nil
	}
	from := t.state.Weight
	t.state.Step, t.state.Weight = next, steps[next]
	t.state.StepStartedAt, t.state.UpdatedAt = now, now
	t.state.WeightSource = SourceEngine
	typ, msg := "step", fmt.Sprintf("step %d: weight %.4g → %.4g while healthy", next+1, from, t.state.Weight)
	if t.state.Weight >= 100 {
		t.state.State = Promoted
		t.state.Reason = "promoted: every step passed analysis"
		typ, msg = "promotion", fmt.Sprintf("promoted: weight %.4g → 100, every step passed analysis", from)
	}
	ev := e.newEvent(name, typ, SourceEngine, msg, map[string]any{"from_weight": from, "weight": t.state.Weight, "step": next})
	return &ev
}

// note is a notification to send once the lock is released.
type note struct {
	ev   store.Event
	spec []string
}

func (e *Engine) send(notes []note) {
	if e.notify == nil {
		return
	}
	for _, n := range notes {
		if len(n.spec) > 0 {
			e.notify.Send(n.spec, n.ev)
		}
	}
}
