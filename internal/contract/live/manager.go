package live

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/contract"
	"github.com/turnout-gw/turnout/internal/pipeline"
	"github.com/turnout-gw/turnout/internal/route"
	"github.com/turnout-gw/turnout/internal/store"
)

// Defaults of Options.
const (
	DefaultWorkers    = 2
	DefaultQueue      = 1024
	DefaultSamples    = 50
	DefaultMaxClients = 1000
)

// Options configure a Manager.
type Options struct {
	// Observe counts one violation of an answer of service's version,
	// answered by upstream (telemetry.Metrics.ObserveContractViolation);
	// nil = not counted.
	Observe func(service, version, upstream, operation string)
	Log     *slog.Logger
	Now     func() time.Time
	// Rand picks the validated share of answers (default math/rand/v2).
	Rand func() uint64
	// Workers validate the copied answers (default DefaultWorkers); Queue is
	// how many copies may wait for them (default DefaultQueue).
	Workers, Queue int
	// Samples is the size of each service's ring of violating answers
	// (default DefaultSamples).
	Samples int
	// MaxClients bounds the clients each service's deprecated usage tells
	// apart (default DefaultMaxClients); later clients are counted together.
	MaxClients int
	// Store keeps the deprecated usage across restarts (nil = memory only).
	Store store.Store
}

// Documents returns a version's loaded document, nil when it has none.
type Documents func(service, version string) *contract.Document

// Manager validates answers and tracks deprecated usage for the services
// whose versions have documents. It is a pipeline.Tap.
type Manager struct {
	o        Options
	services atomic.Pointer[map[string]*service]
	// p queues the copied answers for its workers, which validate them, and
	// writes the deprecated usage every second.
	p *pipeline.Pipeline[*tap]

	mu       sync.Mutex // serialises Update and Close
	compiled map[*contract.Document]*compiled
	// ops name the operations of every version with a document (service →
	// version), for the usage counts (Operation); opsByDoc are the same
	// by document, reused while a document is unchanged.
	ops      atomic.Pointer[map[string]map[string]*opMatcher]
	opsByDoc map[*contract.Document]*opMatcher
}

var _ pipeline.Tap = (*Manager)(nil)

// service is one service's compiled contract block.
type service struct {
	name    string
	percent float64
	upto    uint64 // route.WeightThreshold(percent)
	maxBody int64
	// checks are the versions whose answers are validated, by name: the
	// rollout's `to` and every adapted version (served_by) with a document
	// of its own. gate is the one the rollout analysis reads (the
	// rollout's `to`), nil when none.
	checks map[string]*check
	gate   *check
	// deprecated maps each version whose document marks operations or
	// parameters deprecated to its compiled document.
	deprecated map[string]*compiled
	client     clientKey
	use        *usage
}

// check is the validation of one version's answers against one document:
// a rollout's `to` against its `from`'s document (or, when `to` is
// adapted and has one, its own), an adapted version against its own. It
// is immutable but for its results.
type check struct {
	// version is the version whose answers are validated; document the
	// version whose document they are validated against; from the
	// rollout's `from` when the check is the rollout's.
	version, document, from string
	// servedBy is the version whose upstream serves an adapted version
	// ("" for one with its own); upstream is the upstream that answers.
	servedBy, upstream string
	doc                *compiled
	res                *results
}

// New starts a Manager's workers. It checks nothing until Update.
func New(o Options) (*Manager, error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Uint64
	}
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.Queue <= 0 {
		o.Queue = DefaultQueue
	}
	if o.Samples <= 0 {
		o.Samples = DefaultSamples
	}
	if o.MaxClients <= 0 {
		o.MaxClients = DefaultMaxClients
	}
	m := &Manager{o: o, compiled: map[*contract.Document]*compiled{}}
	empty := map[string]*service{}
	m.services.Store(&empty)
	p, err := pipeline.New(pipeline.Options{Name: "contract", Workers: o.Workers, Queue: o.Queue, Flush: m.flushAll}, m.process)
	if err != nil {
		return nil, fmt.Errorf("contract: %w", err)
	}
	m.p = p
	return m, nil
}

// Update adopts cfg and its documents. Each document's router and
// deprecation matcher are built once and reused while the document is
// unchanged; each check keeps its results while the version it validates,
// the version serving it, the document it validates against (and, for the
// rollout's, the rollout's `from`) are unchanged; a service keeps its deprecated usage while it
// exists.
func (m *Manager) Update(cfg *config.Config, docs Documents) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.updateOperations(cfg, docs)
	old := *m.services.Load()
	next := make(map[string]*service, len(old))
	keep := map[*contract.Document]*compiled{}
	for _, name := range cfg.ServiceNames() {
		sc := cfg.Services[name]
		if s := m.compileService(name, sc, docs, old[name], keep); s != nil {
			next[name] = s
		}
	}
	m.compiled = keep
	if len(old) == 0 && len(next) == 0 {
		return
	}
	m.services.Store(&next)
	for name, s := range old {
		if next[name] == nil {
			m.flushUsage(s) // a retired service: keep its last uses
		}
	}
}

// compileService builds one service's state, nil when it has nothing to
// check.
func (m *Manager) compileService(name string, sc *config.Service, docs Documents, prev *service, keep map[*contract.Document]*compiled) *service {
	if sc.IsQN() {
		return nil
	}
	s := &service{name: name, deprecated: map[string]*compiled{}}
	compile := func(d *contract.Document) *compiled {
		c := keep[d]
		if c == nil {
			if c = m.compiled[d]; c == nil {
				var err error
				if c, err = compileDoc(d); err != nil {
					m.o.Log.Error("contract: answers are not validated against this document", "service", name, "document", d.Path, "error", err)
				}
			}
			keep[d] = c
		}
		return c
	}
	for _, vname := range sc.VersionNames() {
		if d := docs(name, vname); d != nil {
			if c := compile(d); c.dep != nil {
				s.deprecated[vname] = c
			}
		}
	}
	if cc := sc.Contract; cc != nil {
		s.maxBody = int64(cc.MaxBody)
		s.client = newClientKey(cc.ClientKey)
		if cc.ValidatePercent > 0 {
			s.percent, s.upto = cc.ValidatePercent, route.WeightThreshold(cc.ValidatePercent)
			s.checks, s.gate = checksOf(name, sc, docs, compile)
		}
	}
	if len(s.checks) == 0 && len(s.deprecated) == 0 {
		return nil
	}
	win := time.Minute
	if ro := sc.Rollout; ro != nil && ro.Analysis.Window.D() > win {
		win = ro.Analysis.Window.D()
	}
	for v, c := range s.checks {
		if p := prevCheck(prev, v); p != nil && p.document == c.document && p.from == c.from && p.servedBy == c.servedBy && p.doc == c.doc {
			c.res = p.res
			c.res.Resize(win)
		} else {
			c.res = newResults(win, m.o.Samples)
		}
	}
	if prev != nil {
		s.use = prev.use
	} else {
		s.use = newUsage(m.o.MaxClients)
		m.loadUsage(s)
	}
	return s
}

// checksOf returns the checks of a service whose contract.validate_percent
// is set, and the one the rollout analysis reads: the rollout's `to`
// validated against its own document when it is adapted and has one, else
// against `from`'s; every other adapted version with a document against
// its own.
func checksOf(name string, sc *config.Service, docs Documents, compile func(*contract.Document) *compiled) (map[string]*check, *check) {
	checks := map[string]*check{}
	add := func(version, document, from string) *check {
		d := docs(name, document)
		if d == nil {
			return nil
		}
		c := &check{version: version, document: document, from: from, doc: compile(d)}
		if vc := sc.Versions[version]; vc != nil {
			c.servedBy, c.upstream = vc.ServedBy, vc.Upstream
			if by := sc.Versions[vc.ServedBy]; vc.ServedBy != "" && by != nil {
				c.upstream = by.Upstream
			}
		}
		checks[version] = c
		return c
	}
	var gate *check
	if ro := sc.Rollout; ro != nil {
		if to := sc.Versions[ro.To]; to != nil && to.ServedBy != "" && docs(name, ro.To) != nil {
			gate = add(ro.To, ro.To, ro.From)
		} else {
			gate = add(ro.To, ro.From, ro.From)
		}
	}
	for _, v := range sc.VersionNames() {
		if vc := sc.Versions[v]; vc != nil && vc.ServedBy != "" && checks[v] == nil {
			add(v, v, "")
		}
	}
	return checks, gate
}

// prevCheck returns the check of version in prev, nil when there is none.
func prevCheck(prev *service, version string) *check {
	if prev == nil {
		return nil
	}
	return prev.checks[version]
}

// lookup returns a service's state or nil.
func (m *Manager) lookup(name string) *service { return (*m.services.Load())[name] }

// Close stops validating: new answers are no longer copied, the workers
// stop once the answer each is validating is done (validation is in
// memory: that wait is short; ctx bounds it all the same), and the
// deprecated usage is written to the store.
func (m *Manager) Close(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.p.Close(ctx)
}
