// Package lifecycle applies the retirement schedules of versions
// (versions.NAME.schedule): each step becomes the version's effective
// lifecycle when it is due, unless hold_while holds it because clients
// still call the version, until they stop or a person forces it.
//
// The effective lifecycle of a version is that of the last step APPLIED
// (a due step that is held is not applied), else the configured one.
// Applied steps are persisted in the state store (blob bucket "lifecycle"),
// so a restart keeps them; each application is a lifecycle_changed event
// and each hold one lifecycle_held event. The gateway compiles its routing
// table from Config.WithLifecycles(Effective(cfg)) and the Scheduler asks
// it to publish a new one (WithApply) after every change.
package lifecycle

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/store"
)

// Event types written to the store's event log.
const (
	EventChanged = "lifecycle_changed"
	EventHeld    = "lifecycle_held"
)

// ActorSchedule is the actor of a step applied at its time.
const ActorSchedule = "schedule"

// Errors of Force.
var (
	ErrNoSchedule = errors.New("the version has no schedule")
	ErrNoStep     = errors.New("no step left to apply")
	ErrNotDue     = errors.New("the next step is not due yet")
)

// Scheduler applies the schedules of a configuration. It is safe for
// concurrent use: Tick, Force, Sync and the reads serialise on one mutex;
// the apply and notify hooks are called without it.
type Scheduler struct {
	st     store.Store
	usage  Usage
	now    func() time.Time
	log    *slog.Logger
	apply  func() error
	notify func(urls []string, ev store.Event)
	// leading says whether this member applies due steps (a fleet's
	// leader); nil: always.
	leading func() bool

	applyMu sync.Mutex // serialises apply calls

	mu  sync.Mutex // guards what follows
	cfg *config.Config
	// scheduled are cfg's versions with a schedule, found once by Sync:
	// a tick looks at them only.
	scheduled []scheduledVersion
	applied   map[string]Applied // by SERVICE/VERSION
	held      map[string]hold    // by SERVICE/VERSION: the step held now
	// known is the usage a tick read for its guards (readUsage), set
	// while the tick advances.
	known map[usageAsk]usageAnswer
}

// scheduledVersion is a version with a schedule.
type scheduledVersion struct {
	sc   *config.Service
	name string
	v    *config.Version
}

// hold is a step held by its guard.
type hold struct {
	step   int
	since  time.Time
	reason string
}

// Option configures a Scheduler.
type Option func(*Scheduler)

// WithClock injects the clock.
func WithClock(now func() time.Time) Option { return func(s *Scheduler) { s.now = now } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(s *Scheduler) { s.log = l } }

// WithUsage sets what the guard reads. Without it a guarded step is held
// with the reason that no usage is known, until forced.
func WithUsage(u Usage) Option { return func(s *Scheduler) { s.usage = u } }

// WithApply sets how a change reaches the data plane: publish a routing
// table compiled with Effective. It is called without the lock held.
func WithApply(f func() error) Option { return func(s *Scheduler) { s.apply = f } }

// WithLeading makes the Scheduler apply due steps only while leading()
// is true: in a fleet only the leader applies them, and every member
// follows the applied steps it reads from its store (shared through the
// fleet) on each tick. A force is applied whoever leads.
func WithLeading(leading func() bool) Option { return func(s *Scheduler) { s.leading = leading } }

// WithNotify sends each event to the service's notify URLs (its rollout's
// notify list); it must not block.
func WithNotify(f func(urls []string, ev store.Event)) Option {
	return func(s *Scheduler) { s.notify = f }
}

// New returns a Scheduler over st, reading the steps persisted there.
func New(st store.Store, opts ...Option) (*Scheduler, error) {
	if st == nil {
		return nil, errors.New("lifecycle: a store is required")
	}
	s := &Scheduler{st: st, now: time.Now, log: slog.Default(), held: map[string]hold{}}
	for _, o := range opts {
		o(s)
	}
	var err error
	if s.applied, err = load(st); err != nil {
		return nil, err
	}
	return s, nil
}

// Sync adopts cfg: its schedules are the ones Tick applies from now on.
// A hold of a version whose schedule changed is forgotten.
func (s *Scheduler) Sync(cfg *config.Config) {
	s.mu.Lock()
	defer s.mu.Unlock()
	prev := s.cfg
	s.cfg = cfg
	s.scheduled = s.scheduled[:0]
	for _, svc := range cfg.ServiceNames() {
		sc := cfg.Services[svc]
		for _, name := range sc.VersionNames() {
			if v := sc.Versions[name]; v != nil && len(v.Schedule) > 0 {
				s.scheduled = append(s.scheduled, scheduledVersion{sc: sc, name: name, v: v})
			}
		}
	}
	for k := range s.held {
		svc, ver, _ := strings.Cut(k, "/")
		if prev == nil || !sameSchedule(versionOf(prev, svc, ver), versionOf(cfg, svc, ver)) {
			delete(s.held, k)
		}
	}
}

// Effective returns the lifecycle of every version of cfg whose applied
// steps set it (service -> version -> lifecycle), for
// config.Config.WithLifecycles. It reads only cfg and the applied steps,
// so a reload compiles the new configuration with them before Sync.
func (s *Scheduler) Effective(cfg *config.Config) map[string]map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]map[string]string{}
	for _, svc := range cfg.ServiceNames() {
		sc := cfg.Services[svc]
		for name, v := range sc.Versions {
			if v == nil || len(v.Schedule) == 0 {
				continue
			}
			a, ok := s.applied[recordKey(svc, name)]
			if n := position(v, a, ok); n > 0 {
				if out[svc] == nil {
					out[svc] = map[string]string{}
				}
				out[svc][name] = v.Schedule[n-1].Lifecycle
			}
		}
	}
	return out
}

// Run calls Tick every tick until ctx ends.
func (s *Scheduler) Run(ctx context.Context, tick time.Duration) {
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.Tick()
		}
	}
}

// publish asks the data plane to compile the effective lifecycles again.
func (s *Scheduler) publish() {
	if s.apply == nil {
		return
	}
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	if err := s.apply(); err != nil {
		s.log.Warn("lifecycle: publishing the effective lifecycles", "error", err)
	}
}

func sameSchedule(a, b *config.Version) bool {
	if a == nil || b == nil || len(a.Schedule) != len(b.Schedule) {
		return false
	}
	for i := range a.Schedule {
		if !a.DueAt(i).Equal(b.DueAt(i)) || a.Schedule[i].Lifecycle != b.Schedule[i].Lifecycle {
			return false
		}
	}
	return samePtrHold(a.HoldWhile, b.HoldWhile)
}

func samePtrHold(a, b *config.HoldWhile) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Requests == b.Requests && a.Window == b.Window
}
