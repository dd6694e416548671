package core

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/route"
	"github.com/turnout-gw/turnout/internal/snapshot"
	"github.com/turnout-gw/turnout/internal/trust"
	"github.com/turnout-gw/turnout/internal/upstream"
)

// Configs owns the live configuration: it compiles configurations into
// snapshots (routing table + upstream pools), publishes them with an atomic
// pointer swap and retires the pools the new snapshot no longer uses. It is
// safe for concurrent use; reloads are serialised.
type Configs struct {
	path string
	log  *slog.Logger
	now  func() time.Time

	snap atomic.Pointer[snapshot.Snapshot]
	cfg  atomic.Pointer[config.Config]

	mu sync.Mutex // serialises Apply/Reload/SetWeight
	// reloadMu serialises Reload: a file change seen by the watcher and a
	// reload asked through the API then parse the file once, not twice.
	reloadMu sync.Mutex
	lastSum  uint64 // hash of the file the last successful Reload applied
	hasSum   bool
	pools    map[string]*pooled
	weights  func(*config.Config) map[string]float64
	hooks    []func(ReloadEvent)
	publish  []func(*route.Table)
	drain    time.Duration
	// untrusted is told about colour removed from untrusted requests.
	untrusted func(service, source string)

	check     func(*config.Config) error // WithCheck
	contracts *contractState             // OpenAPI documents and reports (contracts.go)
	noPools   bool                       // WithoutPools: tables only

	// lifecycles are the effective lifecycles of scheduled versions
	// (internal/lifecycle), compiled over the configured ones.
	lifecycles func(*config.Config) map[string]map[string]string
}

// pooled is a live pool and what it was built from: a reload keeps it
// when both are unchanged.
type pooled struct {
	spec      config.Upstream
	maxHeader int64 // limits.max_response_header_bytes
	pool      *upstream.Pool
}

// poolLimits is the pool option of cfg's limits on upstream answers.
func poolLimits(cfg *config.Config) upstream.Option {
	return upstream.WithMaxResponseHeaderBytes(int64(cfg.Limits.MaxResponseHeaderBytes))
}

// ReloadEvent reports the outcome of one configuration load.
type ReloadEvent struct {
	Path   string
	Err    error // nil on success
	Source string
	At     time.Time
	// Config is the configuration applied (nil on failure).
	Config *config.Config
	// Unchanged marks a reload that found the file as the last reload
	// applied it: nothing was compiled or swapped.
	Unchanged bool
}

// sourceStart is the ReloadEvent.Source of the load at start.
const sourceStart = "start"

// Option configures a Configs.
type Option func(*Configs) error

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option {
	return func(g *Configs) error { g.log = l; return nil }
}

// WithClock injects the clock.
func WithClock(now func() time.Time) Option {
	return func(g *Configs) error { g.now = now; return nil }
}

// WithWeights supplies the live rollout weights (kept by the rollout engine)
// that override the configured ones at every compile.
func WithWeights(f func(*config.Config) map[string]float64) Option {
	return func(g *Configs) error { g.weights = f; return nil }
}

// WithLifecycles supplies the lifecycles the retirement schedules applied
// (service -> version -> lifecycle), compiled instead of the configured
// ones at every load and by Relifecycle.
func WithLifecycles(f func(*config.Config) map[string]map[string]string) Option {
	return func(g *Configs) error { g.lifecycles = f; return nil }
}

// WithReloadHook is called after every load attempt.
func WithReloadHook(f func(ReloadEvent)) Option {
	return func(g *Configs) error { g.hooks = append(g.hooks, f); return nil }
}

// WithPublishHook is called with every routing table the gateway
// publishes (start, reload, weight change), under its apply lock: f must
// not block.
func WithPublishHook(f func(*route.Table)) Option {
	return func(g *Configs) error { g.publish = append(g.publish, f); return nil }
}

// WithDrain sets how long retired pools keep their idle connections before
// they are closed (default 5s).
func WithDrain(d time.Duration) Option {
	return func(g *Configs) error { g.drain = d; return nil }
}

// WithoutPools makes the gateway compile and publish routing tables
// without provisioning upstream pools (Snapshot.Pools stays empty): for
// the in-process middleware, whose versions are handlers, not upstreams.
func WithoutPools() Option {
	return func(g *Configs) error { g.noPools = true; return nil }
}

// WithCheck refuses a configuration before it is compiled, at start and
// at every reload (a refused reload keeps the last good configuration):
// the applier's refusals (config.Config.Refusals), for the middleware.
func WithCheck(f func(*config.Config) error) Option {
	return func(g *Configs) error { g.check = f; return nil }
}

// WithUntrustedReport is told, per request and kind, about colour the trust
// policy removed (see trust.WithReport).
func WithUntrustedReport(f func(service, source string)) Option {
	return func(g *Configs) error { g.untrusted = f; return nil }
}

// New compiles cfg (read from path, which later reloads read again) and
// publishes the first snapshot.
func New(cfg *config.Config, path string, opts ...Option) (*Configs, error) {
	g := &Configs{path: path, log: slog.Default(), now: time.Now, pools: map[string]*pooled{}, drain: 5 * time.Second,
		contracts: newContractState()}
	for _, o := range opts {
		if err := o(g); err != nil {
			return nil, err
		}
	}
	if err := g.Apply(cfg, sourceStart); err != nil {
		return nil, err
	}
	return g, nil
}

// Snapshot returns the current snapshot.
func (g *Configs) Snapshot() *snapshot.Snapshot { return g.snap.Load() }

// Config returns the current configuration.
func (g *Configs) Config() *config.Config { return g.cfg.Load() }

// Path returns the configuration file path.
func (g *Configs) Path() string { return g.path }

// Reload reads the configuration file again and applies it. On any error
// the current snapshot keeps serving and the error (an config.Errors list)
// is returned and logged.
func (g *Configs) Reload(source string) error {
	if g.path == "" {
		return errors.New("no configuration file to reload")
	}
	g.reloadMu.Lock()
	defer g.reloadMu.Unlock()
	data, err := config.ReadFile(g.path)
	if err != nil {
		g.report(source, nil, err)
		return err
	}
	sum := xxhash.Sum64(data)
	if g.hasSum && sum == g.lastSum && !g.contracts.live.Load().Changed() {
		g.log.Debug("configuration unchanged", "source", source, "path", g.path)
		g.emit(ReloadEvent{Path: g.path, Source: source, At: g.now(), Config: g.cfg.Load(), Unchanged: true})
		return nil
	}
	cfg, err := config.Parse(g.path, data)
	if err != nil {
		g.report(source, nil, err)
		return err
	}
	if err := g.Apply(cfg, source); err != nil {
		return err
	}
	g.lastSum, g.hasSum = sum, true
	return nil
}

// Apply compiles cfg and publishes it: decode → provision → swap → stop.
func (g *Configs) Apply(cfg *config.Config, source string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.check != nil {
		if err := g.check(cfg); err != nil {
			g.report(source, nil, err)
			return err
		}
	}
	contracts, err := buildContracts(cfg, g.contracts.cache)
	if err != nil {
		g.report(source, nil, err)
		return err
	}
	g.contracts.building.Store(contracts)
	var w map[string]float64
	if g.weights != nil {
		w = g.weights(cfg)
	}
	opts := []route.Option{route.WithWeights(w)}
	if cur := g.snap.Load(); cur != nil {
		opts = append(opts, route.WithPrevious(cur.Table)) // unchanged services are not compiled again
	}
	table, err := route.Compile(g.effective(cfg), opts...)
	if err != nil {
		g.report(source, nil, err)
		return err
	}
	topts := []trust.Option{trust.WithClock(g.now), trust.WithLogger(g.log)}
	if g.untrusted != nil {
		topts = append(topts, trust.WithReport(g.untrusted))
	}
	policy, err := trust.New(cfg.Trust, table, topts...)
	if err != nil {
		g.report(source, nil, err)
		return err
	}
	// Provision: reuse pools whose spec is unchanged (keeping their
	// connections and health state), create the others.
	next := map[string]*pooled{}
	var created []*upstream.Pool
	for _, name := range cfg.UpstreamNames() {
		if g.noPools || cfg.Upstreams[name].IsTCP() {
			continue // the tcp:// upstreams of qn services are dialled by internal/qnproxy
		}
		spec := comparable(cfg.Upstreams[name])
		maxHeader := int64(cfg.Limits.MaxResponseHeaderBytes)
		if old := g.pools[name]; old != nil && reflect.DeepEqual(old.spec, spec) && old.maxHeader == maxHeader {
			next[name] = old
			continue
		}
		p, err := upstream.New(UpstreamPaths(cfg, cfg.Upstreams[name]), upstream.WithLogger(g.log), upstream.WithClock(g.now), poolLimits(cfg))
		if err != nil {
			for _, c := range created {
				c.Close()
			}
			err = cfg.Upstreams[name].Errorf("targets", "upstream %q: %v", name, err)
			g.report(source, nil, err)
			return err
		}
		created = append(created, p)
		next[name] = &pooled{spec: spec, maxHeader: maxHeader, pool: p}
	}
	pools := make(map[string]*upstream.Pool, len(next))
	for name, p := range next {
		pools[name] = p.pool
	}
	for _, p := range created {
		p.Start()
	}
	// Swap.
	var prevFlights snapshot.Flights
	if cur := g.snap.Load(); cur != nil {
		prevFlights = cur.Flights
	}
	g.snap.Store(&snapshot.Snapshot{Table: table, Pools: pools, FallbackBody: int64(cfg.Limits.FallbackBody), Trust: policy,
		Flights: serviceFlights(cfg, prevFlights)})
	g.cfg.Store(cfg)
	g.published(table)
	g.contracts.live.Store(contracts)
	g.contracts.cache.Retain(contracts.docs)
	// Stop what the new snapshot no longer uses, after in-flight requests
	// had time to finish on it.
	var retired []*upstream.Pool
	for name, old := range g.pools {
		if next[name] != old {
			retired = append(retired, old.pool)
		}
	}
	g.pools = next
	if len(retired) > 0 {
		time.AfterFunc(g.drain, func() {
			for _, p := range retired {
				p.Close()
			}
		})
	}
	g.report(source, cfg, nil)
	return nil
}

// SetWeight publishes a table whose service splits at weight percent,
// keeping everything else of the current snapshot.
func (g *Configs) SetWeight(service string, weight float64) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	cur := g.snap.Load()
	t, err := cur.Table.WithWeight(service, weight)
	if err != nil {
		return err
	}
	next := *cur
	next.Table = t
	g.snap.Store(&next)
	g.published(t)
	return nil
}

func (g *Configs) published(t *route.Table) {
	for _, f := range g.publish {
		f(t)
	}
}

// Close stops every pool. The gateway must not serve afterwards.
func (g *Configs) Close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, p := range g.pools {
		p.pool.Close()
	}
	g.pools = map[string]*pooled{}
}

func (g *Configs) report(source string, cfg *config.Config, err error) {
	ev := ReloadEvent{Path: g.path, Err: err, Source: source, At: g.now(), Config: cfg}
	if err != nil {
		g.log.Error("configuration rejected; still serving the last good one", "source", source, "path", g.path,
			"errors", len(config.Flatten(err)))
		for _, e := range config.Flatten(err) {
			g.log.Error(e.Error())
		}
	} else {
		g.log.Info("configuration applied", "source", source, "path", g.path)
	}
	g.emit(ev)
}

func (g *Configs) emit(ev ReloadEvent) {
	for _, h := range g.hooks {
		h(ev)
	}
}

// serviceFlights are the in-flight caps of cfg's services for the snapshot
// that replaces one with prev: each service's own cap is enforced by the
// proxy once the request is routed (the limiter here runs before routing),
// and a service keeps its counter across reloads.
func serviceFlights(cfg *config.Config, prev snapshot.Flights) snapshot.Flights {
	var caps map[string]int64
	for name, s := range cfg.Services {
		if c := s.InFlightCap(); c > 0 && !s.IsQN() {
			if caps == nil {
				caps = map[string]int64{}
			}
			caps[name] = int64(c)
		}
	}
	return snapshot.NextFlights(prev, caps)
}

// comparable returns a copy of the upstream spec without positions, so two
// loads of the same text compare equal.
func comparable(u *config.Upstream) config.Upstream {
	c := *u
	c.Meta = config.Meta{}
	if u.Health != nil {
		h := *u.Health
		h.Meta = config.Meta{}
		c.Health = &h
	}
	if u.TLS != nil {
		t := *u.TLS
		t.Meta = config.Meta{}
		c.TLS = &t
	}
	c.Targets = append([]string(nil), u.Targets...)
	return c
}

// String describes the gateway for logs.
func (g *Configs) String() string { return fmt.Sprintf("gateway(%s)", g.path) }
