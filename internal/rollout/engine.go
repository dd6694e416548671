package rollout

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/store"
)

// Rollout states, exactly as SPEC.md names them.
const (
	Pending     = "pending"
	Progressing = "progressing"
	Paused      = "paused"
	Promoted    = "promoted"
	RolledBack  = "rolled_back"
)

// Weight sources recorded with the state.
const (
	SourceConfig = "config"
	SourceAPI    = "api"
	SourceEngine = "engine"
)

// Errors returned by the manual actions.
var (
	ErrNoRollout  = errors.New("no rollout for this service")
	ErrTransition = errors.New("action not allowed in this state")
)

// Status is a rollout's state as the API shows it.
type Status struct {
	Service       string    `json:"service"`
	From          string    `json:"from"`
	To            string    `json:"to"`
	State         string    `json:"state"`
	Weight        float64   `json:"weight"`
	Step          int       `json:"step"`
	Steps         []float64 `json:"steps"`
	StepInterval  string    `json:"step_interval,omitempty"`
	Sticky        string    `json:"sticky,omitempty"`
	StartedAt     time.Time `json:"started_at"`
	StepStartedAt time.Time `json:"step_started_at"`
	UpdatedAt     time.Time `json:"updated_at"`
	LastAnalysis  *Analysis `json:"last_analysis"`
	Reason        string    `json:"reason"`
}

// Engine runs every service's rollout: it evaluates analysis at least every
// second, advances steps while healthy, rolls back or pauses on failure,
// executes manual actions, and persists state and events in the store.
// Engine is safe for concurrent use.
type Engine struct {
	st      store.Store
	stats   Stats
	gates   []Gate
	now     func() time.Time
	log     *slog.Logger
	apply   func(service string, weight float64) error
	notify  *Notifier
	observe []func(Status)
	block   Blocker

	mu sync.Mutex // guards ro, names and everything in them
	ro map[string]*tracked
	// names are the keys of ro, sorted (Sync sets both).
	names []string

	applyMu sync.Mutex // serialises weight publication
}

type tracked struct {
	spec     *config.Rollout
	state    store.RolloutState
	last     *Analysis
	lastEval time.Time
}

// Option configures an Engine.
type Option func(*Engine) error

// WithClock injects the clock.
func WithClock(now func() time.Time) Option { return func(e *Engine) error { e.now = now; return nil } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(e *Engine) error { e.log = l; return nil } }

// WithApply sets how a new weight reaches the data plane (the gateway's
// SetWeight). It is called without the engine's lock held.
func WithApply(f func(service string, weight float64) error) Option {
	return func(e *Engine) error { e.apply = f; return nil }
}

// WithGate adds an extra analysis check (mirror diffs, contract violations).
func WithGate(g Gate) Option {
	return func(e *Engine) error { e.gates = append(e.gates, g); return nil }
}

// WithNotifier sends state changes to the rollouts' notify URLs.
func WithNotifier(n *Notifier) Option { return func(e *Engine) error { e.notify = n; return nil } }

// WithObserver is called (without the lock) after every state or weight change.
func WithObserver(f func(Status)) Option {
	return func(e *Engine) error { e.observe = append(e.observe, f); return nil }
}

// New returns an Engine over a store and a stats source.
func New(st store.Store, s Stats, opts ...Option) (*Engine, error) {
	if st == nil || s == nil {
		return nil, errors.New("rollout: store and stats are required")
	}
	e := &Engine{st: st, stats: s, now: time.Now, log: slog.Default(), ro: map[string]*tracked{}}
	for _, o := range opts {
		if err := o(e); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// SpecHash identifies a rollout block by from, to and steps: changing any of
// them starts a new rollout; changing the weight or analysis does not.
func SpecHash(ro *config.Rollout) string {
	b, _ := json.Marshal(struct {
		From, To string
		Steps    []float64
	}{ro.From, ro.To, ro.Steps})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// specHash is SpecHash(ro) for service name's rollout; e.mu must be held.
// A block with the from, to and steps of the tracked rollout has its hash,
// which is not computed again.
func (e *Engine) specHash(name string, ro *config.Rollout) string {
	if t := e.ro[name]; t != nil && t.spec.From == ro.From && t.spec.To == ro.To &&
		slices.EqualFunc(t.spec.Steps, ro.Steps, func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }) {
		return t.state.SpecHash
	}
	return SpecHash(ro)
}

// initial is the state of a rollout that starts now; hash is SpecHash(ro).
func initial(name string, ro *config.Rollout, hash string, now time.Time) store.RolloutState {
	s := store.RolloutState{Service: name, From: ro.From, To: ro.To, SpecHash: hash, State: Progressing,
		Weight: ro.Weight, Step: -1, WeightSource: SourceConfig, StartedAt: now, StepStartedAt: now, UpdatedAt: now}
	if len(ro.Steps) > 0 {
		s.Step = stepAtOrBelow(ro.Steps, ro.Weight)
		if ro.Weight <= 0 {
			s.Step, s.Weight = 0, ro.Steps[0]
		}
	}
	if s.Weight <= 0 && len(ro.Steps) == 0 {
		s.State = Pending
		s.Reason = "weight 0 and no steps: waiting for a person to set a weight or resume"
	} else {
		s.Reason = "rollout started"
	}
	if s.Weight >= 100 {
		s.State = Promoted
	}
	return s
}

// stepAtOrBelow returns the index of the largest step ≤ w, or -1.
func stepAtOrBelow(steps []float64, w float64) int {
	idx := -1
	for i, s := range steps {
		if s <= w {
			idx = i
		}
	}
	return idx
}

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
		stored, ok := e.stored(name)
		s, started, _ := reconcile(name, ro, e.specHash(name, ro), stored, ok, now, false)
		s, _ = e.hold(cfg, name, ro, s, started, now)
		out[name] = s.Weight
	}
	return out
}

func (e *Engine) stored(name string) (store.RolloutState, bool) {
	if t := e.ro[name]; t != nil {
		return t.state, true
	}
	s, ok, err := e.st.GetRollout(name)
	if err != nil {
		e.log.Error("reading rollout state", "service", name, "error", err)
		return store.RolloutState{}, false
	}
	return s, ok
}

// Sync adopts cfg after it was applied: new or changed rollout blocks start
// new rollouts, unchanged ones keep their live state (even across
// restarts), and rollouts no longer configured stop being driven.
func (e *Engine) Sync(cfg *config.Config) error {
	rollouts := 0
	for _, sc := range cfg.Services {
		if sc.Rollout != nil {
			rollouts++
		}
	}
	changed := make([]Status, 0, rollouts)
	var batch store.Batch
	var fields []byte // the events' fields, encoded side by side
	e.mu.Lock()
	now := e.now()
	next := make(map[string]*tracked, rollouts)
	names := make([]string, 0, rollouts)
	for _, name := range cfg.ServiceNames() {
		ro := cfg.Services[name].Rollout
		if ro == nil {
			continue
		}
		stored, ok := e.stored(name)
		s, started, dirty := reconcile(name, ro, e.specHash(name, ro), stored, ok, now, true)
		s, held := e.hold(cfg, name, ro, s, started, now)
		dirty = dirty || held != ""
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
	e.mu.Unlock()
	// The caller compiled its table with Plan's weights already: tell the
	// observers, publish nothing (Sync runs under the gateway's apply lock).
	for _, st := range changed {
		e.tell(st)
	}
	return err
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

// event appends to the audit log; failures are logged, never fatal.
func (e *Engine) event(service, typ, actor, msg string, fields map[string]any) store.Event {
	ev, err := e.st.Append(store.Event{At: e.now(), Service: service, Type: typ, Actor: actor, Message: msg, Fields: fields})
	if err != nil {
		e.log.Error("appending event", "service", service, "type", typ, "error", err)
	}
	e.log.Info(msg, "service", service, "event", typ, "actor", actor)
	return ev
}

// status builds the API view; e.mu must be held.
func (e *Engine) status(name string, t *tracked) Status {
	s := t.state
	st := Status{Service: name, From: s.From, To: s.To, State: s.State, Weight: s.Weight, Step: s.Step,
		Steps: t.spec.Steps, Sticky: t.spec.Sticky.String(), StartedAt: s.StartedAt, StepStartedAt: s.StepStartedAt,
		UpdatedAt: s.UpdatedAt, LastAnalysis: t.last, Reason: s.Reason}
	if st.Steps == nil {
		st.Steps = []float64{}
	}
	if t.spec.StepInterval > 0 {
		st.StepInterval = t.spec.StepInterval.String()
	}
	return st
}

// Status returns one rollout's state.
func (e *Engine) Status(service string) (Status, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t := e.ro[service]
	if t == nil {
		return Status{}, ErrNoRollout
	}
	return e.status(service, t), nil
}

// Statuses returns every rollout's state sorted by service.
func (e *Engine) Statuses() []Status {
	e.mu.Lock()
	defer e.mu.Unlock()
	names := e.names
	if len(names) != len(e.ro) {
		names = slices.Sorted(maps.Keys(e.ro))
	}
	out := make([]Status, len(names))
	for i, name := range names {
		out[i] = e.status(name, e.ro[name])
	}
	return out
}

// Run evaluates rollouts every tick until ctx ends.
func (e *Engine) Run(ctx context.Context, tick time.Duration) {
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			e.Tick()
		}
	}
}

// observed publishes a change to the data plane and the observers.
func (e *Engine) observed(st Status) {
	if e.apply != nil {
		e.applyMu.Lock()
		// Publish the latest weight, not the one captured: changes may race.
		if cur, err := e.Status(st.Service); err == nil {
			if err := e.apply(st.Service, cur.Weight); err != nil {
				e.log.Warn("publishing weight", "service", st.Service, "error", err)
			}
		}
		e.applyMu.Unlock()
	}
	e.tell(st)
}

// tell calls the observers.
func (e *Engine) tell(st Status) {
	for _, f := range e.observe {
		f(st)
	}
}
