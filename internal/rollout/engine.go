package rollout

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"math"
	"slices"
	"sync"
	"sync/atomic"
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
	// hist is the rollout's evaluations, read by Engine.Analyses.
	hist *history
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
	guard   func(service string) string

	mu sync.Mutex // guards ro, names and everything in them
	ro map[string]*tracked
	// names are the keys of ro, sorted (Sync sets both).
	names []string
	// cfg is the last configuration Sync adopted; unsynced says a shared
	// store did not take all of its writes (Resync tries again).
	cfg      *config.Config
	unsynced bool

	applyMu sync.Mutex // serialises weight publication

	// pub is what Status and Statuses answer: the statuses published at
	// the end of each change, under e.mu, once its write was made or
	// refused. Reads take only pubMu, never e.mu, so they never wait for a
	// write to a fleet's backend that e.mu is held across.
	pubMu    sync.RWMutex
	pub      map[string]Status
	pubNames []string

	// histMu guards the contents of every rollout's history (history.go):
	// written under e.mu, read through the published statuses without it.
	histMu sync.Mutex
	// running counts the Run loops in progress (Analyzing).
	running atomic.Int32
}

type tracked struct {
	spec     *config.Rollout
	state    store.RolloutState
	last     *Analysis
	lastEval time.Time
	hist     *history // nil until the first evaluation
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
	e := &Engine{st: st, stats: s, now: time.Now, log: slog.Default(), ro: map[string]*tracked{}, pub: map[string]Status{}}
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

// newEvent is an event of the audit log, to be written with its state.
func (e *Engine) newEvent(service, typ, actor, msg string, fields map[string]any) store.Event {
	return store.Event{At: e.now(), Service: service, Type: typ, Actor: actor, Message: msg, Fields: fields}
}

// status builds the API view; e.mu must be held.
func (e *Engine) status(name string, t *tracked) Status {
	s := t.state
	st := Status{Service: name, From: s.From, To: s.To, State: s.State, Weight: s.Weight, Step: s.Step,
		Steps: t.spec.Steps, Sticky: t.spec.Sticky.String(), StartedAt: s.StartedAt, StepStartedAt: s.StepStartedAt,
		UpdatedAt: s.UpdatedAt, LastAnalysis: t.last, Reason: s.Reason, hist: t.hist}
	if st.Steps == nil {
		st.Steps = []float64{}
	}
	if t.spec.StepInterval > 0 {
		st.StepInterval = t.spec.StepInterval.String()
	}
	return st
}

// Status returns one rollout's published state. It never waits for a
// write in progress (see pub).
func (e *Engine) Status(service string) (Status, error) {
	e.pubMu.RLock()
	defer e.pubMu.RUnlock()
	st, ok := e.pub[service]
	if !ok {
		return Status{}, ErrNoRollout
	}
	return st, nil
}

// Statuses returns every rollout's published state sorted by service.
func (e *Engine) Statuses() []Status {
	e.pubMu.RLock()
	defer e.pubMu.RUnlock()
	out := make([]Status, len(e.pubNames))
	for i, name := range e.pubNames {
		out[i] = e.pub[name]
	}
	return out
}

// publish makes the tracked state of names what reads answer; e.mu is
// held.
func (e *Engine) publish(names ...string) {
	e.pubMu.Lock()
	defer e.pubMu.Unlock()
	for _, name := range names {
		if t := e.ro[name]; t != nil {
			e.pub[name] = e.status(name, t)
		}
	}
}

// republish replaces what reads answer with every tracked rollout's
// state (after a configuration load); e.mu is held.
func (e *Engine) republish() {
	names := e.names
	if len(names) != len(e.ro) {
		names = slices.Sorted(maps.Keys(e.ro))
	}
	pub := make(map[string]Status, len(names))
	for _, name := range names {
		pub[name] = e.status(name, e.ro[name])
	}
	e.pubMu.Lock()
	e.pub, e.pubNames = pub, slices.Clone(names)
	e.pubMu.Unlock()
}

// Run evaluates rollouts every tick until ctx ends.
func (e *Engine) Run(ctx context.Context, tick time.Duration) {
	e.running.Add(1)
	defer e.running.Add(-1)
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
