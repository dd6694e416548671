package rollout

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/store"
)

// reconcile decides the state of a configured rollout given what the store
// holds; hash is SpecHash(ro). changed reports whether the stored state must
// be written. A state that follows a new weight in the file has the reason
// fileWeightReason(weight) when describe is set, none otherwise (Plan reads
// only weights).
func reconcile(name string, ro *config.Rollout, hash string, stored store.RolloutState, ok bool, now time.Time, describe bool) (s store.RolloutState, started, changed bool) {
	if !ok || stored.SpecHash != hash {
		return initial(name, ro, hash, now), true, true
	}
	s = stored
	// While only the file has set the weight (no step, no rollback, no
	// person), the rollout follows the file.
	if s.WeightSource == SourceConfig {
		n := initial(name, ro, hash, now)
		if n.Weight != s.Weight || n.State != s.State {
			n.StartedAt = s.StartedAt
			n.Reason = ""
			if describe {
				n.Reason = fileWeightReason(n.Weight)
			}
			return n, false, true
		}
	}
	return s, false, false
}

// fileWeightReason is the reason (and event message) of a rollout that
// follows a weight the configuration file changed.
func fileWeightReason(w float64) string {
	return "weight " + formatWeight(w) + " from the configuration file"
}

// formatWeight formats w as fmt's %.4g does, without fmt for finite
// weights (a reload may describe thousands).
func formatWeight(w float64) string {
	if math.IsInf(w, 0) || math.IsNaN(w) {
		return fmt.Sprintf("%.4g", w)
	}
	return strconv.FormatFloat(w, 'g', 4, 64)
}

// Plan returns the weights the engine would apply for cfg, without changing
// anything (the gateway compiles its table with them before Sync).
func (e *Engine) Plan(cfg *config.Config) map[string]float64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]float64, len(e.ro))
	now := e.now()
	for _, name := range cfg.ServiceNames() {
		ro := cfg.Services[name].Rollout
		if ro == nil {
			continue
		}
		s, _, _, _ := e.decide(cfg, name, ro, now, false)
		out[name] = s.Weight
	}
	return out
}

// decide is the state the configured rollout of service name takes under
// cfg (reconciled with what is tracked or stored, then held or released
// by the blocker), whether it started and whether it must be written, and
// the hold event type ("" for none); describe as for reconcile. e.mu must
// be held.
func (e *Engine) decide(cfg *config.Config, name string, ro *config.Rollout, now time.Time, describe bool) (s store.RolloutState, started, dirty bool, held string) {
	hash := e.specHash(name, ro)
	stored, ok := e.stored(name, hash)
	s, started, dirty = reconcile(name, ro, hash, stored, ok, now, describe)
	s, held = e.hold(cfg, name, ro, s, started, now)
	return s, started, dirty || held != "", held
}

// stored is the state a rollout of spec hash continues from: the tracked
// one, or when that is of another spec (or none), the store's. A local
// store holds what is tracked; a fleet's may hold the spec another member
// started, which this member then joins instead of starting it again.
func (e *Engine) stored(name, hash string) (store.RolloutState, bool) {
	t := e.ro[name]
	if t != nil && t.state.SpecHash == hash {
		return t.state, true
	}
	s, ok, err := e.st.GetRollout(name)
	if err != nil {
		e.log.Error("reading rollout state", "service", name, "error", err)
		ok = false
	}
	if (!ok || s.SpecHash != hash) && t != nil {
		return t.state, true
	}
	return s, ok
}

// SpecNoter is a store told the rollout spec of each configured rollout
// at every configuration load (a fleet's store, which then refuses to
// write a spec the fleet has replaced since; see cluster.Store).
type SpecNoter interface {
	Configured(service, hash string)
}

// Sync adopts cfg after it was applied: new or changed rollout blocks start
// new rollouts, unchanged ones keep their live state (even across
// restarts), and rollouts no longer configured stop being driven.
func (e *Engine) Sync(cfg *config.Config) error { return e.sync(cfg, false) }

// Resync writes again what the last Sync could not write to a shared
// store (a file weight refused while etcd was down), now that the store
// answers again (a fleet's runner calls it), and publishes the weights
// that were taken. It does nothing when that Sync was written, or a later
// one ran.
func (e *Engine) Resync() error {
	e.mu.Lock()
	cfg := e.cfg
	todo := e.unsynced && cfg != nil
	e.mu.Unlock()
	if !todo {
		return nil
	}
	return e.sync(cfg, true)
}

// sync is Sync; retry is Resync's, of cfg, which publishes what changed.
func (e *Engine) sync(cfg *config.Config, retry bool) error {
	rollouts := 0
	for _, sc := range cfg.Services {
		if sc.Rollout != nil {
			rollouts++
		}
	}
	changed := make([]Status, 0, rollouts)
	var batch store.Batch
	var fields []byte // the events' fields, encoded side by side
	noter, _ := e.st.(SpecNoter)
	e.mu.Lock()
	if retry && (e.cfg != cfg || !e.unsynced) {
		e.mu.Unlock()
		return nil // a later load, or another retry, wrote it
	}
	now := e.now()
	next := make(map[string]*tracked, rollouts)
	names := make([]string, 0, rollouts)
	for _, name := range cfg.ServiceNames() {
		ro := cfg.Services[name].Rollout
		if ro == nil {
			continue
		}
		if noter != nil {
			noter.Configured(name, e.specHash(name, ro))
		}
		s, started, dirty, held := e.decide(cfg, name, ro, now, true)
		// A tracked rollout is updated in place (it is only touched under
		// e.mu); a started one forgets its last analysis.
		t := e.ro[name]
		if t == nil {
			t = &tracked{}
		}
		if s.Service == name && s.From == ro.From && s.To == ro.To {
			// The same names, from this configuration: the state must not
			// keep an older configuration's text alive.
			s.Service, s.From, s.To = name, ro.From, ro.To
		}
		t.spec, t.state = ro, s
		if started {
			t.last, t.lastEval = nil, time.Time{}
		}
		next[name] = t
		names = append(names, name)
		if dirty {
			if batch.Rollouts == nil { // sized for the rest of the rollouts: a reload often changes all of them
				batch.Rollouts = make([]store.RolloutState, 0, rollouts-len(next)+1)
				batch.Events = make([]store.Event, 0, rollouts-len(next)+1)
				fields = make([]byte, 0, fieldsSize*(rollouts-len(next)+1))
			}
			batch.Rollouts = append(batch.Rollouts, s)
			// Not started and not held, the state changed only by following
			// the file's weight: its reason is the event's message.
			typ, msg := "weight_change", s.Reason
			if started {
				typ, msg = "rollout_started", "rollout "+ro.From+" → "+ro.To+" started at weight "+formatWeight(s.Weight)+" ("+s.State+")"
			}
			if typ != "weight_change" || held == "" {
				ev := store.Event{At: now, Service: name, Type: typ, Actor: SourceConfig, Message: msg}
				var raw bool
				if fields, ev.RawFields, raw = store.AppendRolloutFields(fields, ro.From, ro.To, s.State, s.Weight); !raw {
					ev.Fields = map[string]any{"from": ro.From, "to": ro.To, "weight": s.Weight, "state": s.State}
				}
				batch.Events = append(batch.Events, ev)
			}
			if held != "" {
				batch.Events = append(batch.Events, holdEvent(now, name, held, ro, s))
			}
			changed = append(changed, e.status(name, t))
		}
	}
	e.ro, e.names = next, names
	// One write for the whole reload: with a file-backed store, one fsync
	// instead of two per changed rollout.
	err := e.record(batch)
	var kept []Status
	e.cfg, e.unsynced = cfg, errors.Is(err, store.ErrNotWritten)
	if e.unsynced {
		kept = e.keepShared(batch.Rollouts)
	}
	e.republish()
	e.mu.Unlock()
	if retry {
		// Nobody compiled these weights: publish what was taken.
		for _, st := range changed {
			if cur, err := e.Status(st.Service); err == nil {
				e.observed(cur)
			}
		}
		return err
	}
	// The caller compiled its table with Plan's weights already: tell the
	// observers, publish nothing (Sync runs under the gateway's apply lock).
	for _, st := range changed {
		e.tell(st)
	}
	if len(kept) > 0 {
		// Back to the shared state, once the caller's lock is released.
		go func() {
			for _, st := range kept {
				e.observed(st)
			}
		}()
	}
	return err
}

// keepShared puts back the shared store's state of each rollout of
// written, of the same spec, that a shared store did not take: a member
// does not serve a weight from its file that the fleet does not hold. It
// returns the statuses to publish; e.mu is held.
func (e *Engine) keepShared(written []store.RolloutState) []Status {
	var out []Status
	for _, w := range written {
		t := e.ro[w.Service]
		held, ok, err := e.st.GetRollout(w.Service)
		if t == nil || err != nil || !ok || held.SpecHash != t.state.SpecHash || held.Weight == t.state.Weight && held.State == t.state.State {
			continue
		}
		e.log.Warn("the fleet did not take this configuration's rollout state; serving the fleet's (reload again once it can be written)",
			"service", w.Service, "weight", held.Weight, "configured", t.state.Weight)
		t.state = held
		out = append(out, e.status(w.Service, t))
	}
	return out
}

// fieldsSize is about the size of a rollout event's encoded fields.
const fieldsSize = 64

// quietAfter is how many events of one batch are logged at info level;
// beyond it (a reload that changes thousands of rollouts) they are logged
// at debug level and summed up in one info line.
const quietAfter = 20

// record writes a batch of rollout states and events and logs the events.
func (e *Engine) record(b store.Batch) error {
	if b.Len() == 0 {
		return nil
	}
	_, err := e.st.Write(b)
	if err != nil {
		e.log.Error("writing rollout states and events", "rollouts", len(b.Rollouts), "events", len(b.Events), "error", err)
	}
	ctx := context.Background()
	for i, ev := range b.Events {
		level := slog.LevelInfo
		if len(b.Events) > quietAfter && i >= quietAfter {
			level = slog.LevelDebug
			if !e.log.Enabled(ctx, level) {
				break // the rest are at debug level too
			}
		}
		e.log.Log(ctx, level, ev.Message, "service", ev.Service, "event", ev.Type, "actor", ev.Actor)
	}
	if n := len(b.Events) - quietAfter; n > 0 {
		e.log.Info("more rollout events from the configuration (at debug level)", "more", n, "events", len(b.Events))
	}
	return err
}
