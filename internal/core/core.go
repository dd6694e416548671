package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/turnout-gw/turnout/internal/admin"
	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/contract/live"
	"github.com/turnout-gw/turnout/internal/lifecycle"
	"github.com/turnout-gw/turnout/internal/promsource"
	"github.com/turnout-gw/turnout/internal/rollout"
	"github.com/turnout-gw/turnout/internal/stats"
	"github.com/turnout-gw/turnout/internal/store"
	"github.com/turnout-gw/turnout/internal/telemetry"
	"github.com/turnout-gw/turnout/internal/usage"
)

// Core is the socket-free part of a running Turnout, shared by the proxy
// (gateway.App) and the in-process middleware: the state store, the stats
// registry, the rollout engine with its notifier, the Configs (compile,
// swap, reload on file change, SIGHUP and the admin API), the Prometheus
// metrics and the admin API. Its fields are set once by Start (or Open and
// Compile) and safe for concurrent use.
type Core struct {
	Configs *Configs
	Admin   *admin.API
	Engine  *rollout.Engine
	Stats   *stats.Registry
	// Analysis is what the rollout engine reads: Stats, or Prometheus for
	// the services whose analysis has source: prometheus.
	Analysis *promsource.Router
	// Live validates answers against the contracts and tracks deprecated
	// usage (fed by the proxy's tap).
	Live *live.Manager
	// Usage counts every request per service × version × client (who
	// still calls each version), fed by Observer.
	Usage *usage.Tracker
	Store store.Store
	Log   *slog.Logger
	// Metrics is the Prometheus registry served at the admin API's
	// /metrics.
	Metrics *telemetry.Metrics

	// Schedule applies the versions' retirement schedules.
	Schedule *lifecycle.Scheduler

	opts     Options
	now      func() time.Time
	logCfg   config.Log // the log block at start
	notifier *rollout.Notifier
	onApply  func(*config.Config) // the caller's part of an applied load
	// contracts are the gateway's (the live documents, for Live).
	contracts *contractState
	cancel    context.CancelFunc
	done      chan struct{}
	// fleet is the cluster member (cluster:); nil without the block.
	fleet *fleet
}

// Options configure Open and Start.
type Options struct {
	Log *slog.Logger
	// Watch reloads on file changes and SIGHUP when true.
	Watch bool
	// Debounce for file-change reloads (default 200ms).
	Debounce time.Duration
	// Tick is how often the rollout engine looks at its rollouts (default
	// 250ms; each rollout is analysed every analysis.interval).
	Tick time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// StateWait is how long Open waits for another process to release a
	// locked state file (an old Turnout draining after SIGTERM) before it
	// fails with store.ErrLocked; <= 0 keeps the store's DefaultLockTimeout.
	StateWait time.Duration
	// NoPools compiles routing tables without upstream pools: the
	// middleware calls handlers in process and dials nothing.
	NoPools bool
	// Check, when set, refuses a configuration before it is compiled, at
	// start and at every reload (WithCheck).
	Check func(*config.Config) error
	// Holding are log attributes naming what the caller already holds
	// (the gateway's bound addresses), logged while Open waits for a
	// locked state file.
	Holding []any
	// BeforeStateWait, when set, is called once before Open waits for a
	// locked state file.
	BeforeStateWait func()
	// AdminAddr is the bound admin address (the gateway's): a fleet
	// member whose cluster.advertise is empty (admin.listen port 0)
	// advertises it.
	AdminAddr string
}

// Open opens the store (waiting up to o.StateWait for another process to
// release it) and creates the stats registry, the metrics and the
// notifier: what the gateway's mirror needs before the engine exists.
// Compile and Run follow; Close releases what Open acquired.
func Open(cfg *config.Config, path string, o Options) (*Core, error) {
	c := &Core{Log: o.Log, now: o.Now, logCfg: cfg.Log, opts: o}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if c.now == nil {
		c.now = time.Now
	}
	st, err := openState(StatePath(cfg, path), c.now, o, c.Log)
	if err != nil {
		return nil, fmt.Errorf("opening state store: %w", err)
	}
	if cfg.Cluster != nil {
		// The fleet's state is the engine's; the local store caches it.
		if c.fleet, err = openFleet(cfg, path, st, o.AdminAddr, c.Log); err != nil {
			_ = st.Close()
			return nil, err
		}
		st = c.fleet.store
	}
	c.Store, c.Stats, c.Metrics = st, stats.NewRegistry(c.now), telemetry.NewMetrics()
	c.notifier = rollout.NewNotifier(c.Log, 1024, 5, time.Second)
	// The usage counts outlive a restart in a state file; in a memory
	// store (state: memory) they would outlive nothing the tracker's own
	// memory does not, and are not written twice.
	var keep store.Store = st
	if StatePath(cfg, path) == store.MemoryPath {
		keep = nil
	}
	c.Usage = usage.New(usage.Options{Now: c.now, Store: keep, Log: c.Log, Operation: c.usageOperation})
	return c, nil
}

// Extensions are what the gateway adds to its core: the mirror's gate and
// diffs, the QN listeners' target health, and its part of every applied
// configuration. The middleware adds none.
type Extensions struct {
	// Gate holds rollouts back besides the contracts (the mirror's
	// max_diff_rate); nil for none.
	Gate rollout.Gate
	// OnApply runs after the engine adopted each applied configuration,
	// the first one included.
	OnApply func(*config.Config)
	// Options are more Configs options (publish and untrusted-colour
	// hooks).
	Options []Option
	// Diffs and QNTargets are handed to the admin API (admin.Options).
	Diffs     http.HandlerFunc
	QNTargets func(upstream string) []admin.TargetView
}

// Compile creates the rollout engine, compiles cfg into the gateway and
// builds the admin API, with x's additions.
func (c *Core) Compile(cfg *config.Config, path string, x Extensions) error {
	gate, onApply, gopts := x.Gate, x.OnApply, append([]Option(nil), x.Options...)
	if c.opts.NoPools {
		gopts = append(gopts, WithoutPools())
	}
	if c.opts.Check != nil {
		gopts = append(gopts, WithCheck(c.opts.Check))
	}
	c.onApply = onApply
	var err error
	c.Live, err = live.New(live.Options{Observe: c.Metrics.ObserveContractViolation, Store: c.Store, Log: c.Log, Now: c.now})
	if err != nil {
		return err
	}
	contracts := newContractState() // the engine's Blocker and reloaded read it while New applies cfg
	c.contracts = contracts
	var g *Configs
	eopts := []rollout.Option{rollout.WithClock(c.now), rollout.WithLogger(c.Log), rollout.WithNotifier(c.notifier),
		rollout.WithBlocker(contracts.Blocker),
		rollout.WithApply(func(service string, w float64) error { return g.SetWeight(service, w) }),
		rollout.WithObserver(c.Metrics.ObserveRollout)}
	if gate != nil {
		eopts = append(eopts, rollout.WithGate(gate))
	}
	eopts = append(eopts, rollout.WithGate(c.Live.Gate()))
	if c.fleet != nil {
		eopts = append(eopts, rollout.WithStepGuard(c.fleet.stepGuard))
	}
	// A fleet's leader judges each rollout on every member's windows.
	var own rollout.Stats = c.Stats
	if c.fleet != nil {
		warnUnpullable(cfg, c.fleet)
		if own, err = c.fleet.fleetStats(c.Stats, func() *config.Config { return g.Config() }, c.Metrics); err != nil {
			return err
		}
	}
	c.Analysis, err = promsource.NewRouter(own, promsource.WithClock(c.now), promsource.WithLogger(c.Log))
	if err != nil {
		return err
	}
	c.Metrics.WatchAnalysisQueries(c.Analysis.Failures)
	eng, err := rollout.New(c.Store, c.Analysis, eopts...)
	if err != nil {
		return err
	}
	c.Engine = eng
	if c.Schedule, err = c.newScheduler(func() error { return g.Relifecycle() }); err != nil {
		return err
	}
	gopts = append([]Option{WithLogger(c.Log), WithClock(c.now), WithWeights(eng.Plan), WithLifecycles(c.Schedule.Effective), WithReloadHook(c.reloaded),
		WithReloadHook(c.measureReload), withContractState(contracts)}, gopts...)
	if g, err = New(cfg, path, gopts...); err != nil {
		return err
	}
	c.Configs = g
	tokens, err := newAdminTokens(cfg, g.Config, c.now, c.Log)
	if err != nil {
		return err // the caller's Close releases the gateway
	}
	c.Admin = admin.New(admin.Options{
		Tokens:      tokens.Tokens,
		Hosts:       func() []string { return AdminHosts(g.Config()) },
		Now:         c.now,
		Reload:      admin.ReloaderFunc(g.Reload),
		Log:         c.Log,
		Engine:      eng,
		Events:      c.Store,
		Snapshot:    g.Snapshot,
		Stats:       c.Stats,
		QNTargets:   x.QNTargets,
		Metrics:     c.Metrics.Handler(),
		Contracts:   contractsAPI{g: g, lv: c.Live},
		Usage:       c.Usage.ServeHTTP,
		RecentUsage: c.recentUsage(),
		Diffs:       x.Diffs,
		Cluster:     c.clusterView(),
		ClusterSync: c.clusterSync(),
		Lifecycle:   c.Schedule,
	})
	return nil
}

// clusterSync says whether a fleet member is in sync, nil otherwise.
func (c *Core) clusterSync() func() error {
	if c.fleet == nil {
		return nil
	}
	return c.fleet.inSync
}

// clusterView serves /api/v1/cluster for a fleet member, nil otherwise.
func (c *Core) clusterView() func(context.Context) (any, error) {
	if c.fleet == nil {
		return nil
	}
	return c.fleet.view
}

// Run starts the engine's loop and, with Options.Watch, the configuration
// watcher, until Halt.
func (c *Core) Run(path string) error {
	o := c.opts
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel, c.done = cancel, make(chan struct{})
	tick := o.Tick
	if tick <= 0 {
		tick = 250 * time.Millisecond
	}
	run := func(ctx context.Context) { c.Engine.Run(ctx, tick) }
	if c.fleet != nil {
		// A member runs the engine's loop only while it leads; it follows
		// the leader's state otherwise.
		run = c.fleet.start(c.Engine, tick, c.Metrics)
	}
	go func() {
		defer close(c.done)
		// Every member of a fleet follows the schedules' applied steps;
		// only the leader applies due ones (lifecycle.go).
		sched := make(chan struct{})
		go func() {
			defer close(sched)
			c.Schedule.Run(ctx, scheduleTick(tick))
		}()
		run(ctx)
		<-sched
	}()
	if o.Watch && path != "" {
		d := o.Debounce
		if d <= 0 {
			d = 200 * time.Millisecond
		}
		return c.Configs.Watch(ctx, d)
	}
	return nil
}

// Start opens the store, compiles cfg (read from path, which reloads read
// again; "" for none) and starts the rollout engine and, with o.Watch, the
// watcher. It binds no socket: the caller serves c.Admin where it likes.
// Stop releases everything.
func Start(cfg *config.Config, path string, o Options) (*Core, error) {
	c, err := Open(cfg, path, o)
	if err != nil {
		return nil, err
	}
	if err := c.Compile(cfg, path, Extensions{}); err != nil {
		_ = c.Close()
		return nil, err
	}
	if err := c.Run(path); err != nil {
		c.Halt()
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

// Clock returns the core's clock.
func (c *Core) Clock() func() time.Time { return c.now }

// Stop stops the engine and the watcher, closes the gateway's pools and
// the store.
func (c *Core) Stop() error {
	c.Halt()
	return c.Close()
}

// Halt stops the engine's loop and the watcher.
func (c *Core) Halt() {
	if c.cancel != nil {
		c.cancel()
		<-c.done
		c.cancel = nil
	}
}

// Close releases what Open and Compile acquired.
func (c *Core) Close() error {
	err := c.ReleaseState()
	c.CloseRest()
	return err
}

// ReleaseState closes the state store (after what writes to it last), so
// that another process may open it.
func (c *Core) ReleaseState() error {
	if c.Live != nil {
		_ = c.Live.Close(context.Background())
	}
	c.Usage.Close() // its last counts, before the store closes
	err := c.Store.Close()
	if c.fleet != nil {
		// The member leaves the fleet (its lease revoked) with its store.
		err = errors.Join(err, c.fleet.backend.Close())
	}
	return err
}

// CloseRest closes the gateway's pools and the notifier.
func (c *Core) CloseRest() {
	if c.Configs != nil {
		c.Configs.Close()
	}
	c.notifier.Close()
}

// openState opens the state store at path. When another process holds the
// file and o.StateWait allows, it says so once and waits for the lock.
func openState(path string, now func() time.Time, o Options, log *slog.Logger) (store.Store, error) {
	const probe = 100 * time.Millisecond
	wait := o.StateWait
	if wait <= probe {
		return store.Open(path, store.WithClock(now), store.WithLockTimeout(wait))
	}
	st, err := store.Open(path, store.WithClock(now), store.WithLockTimeout(probe))
	if !errors.Is(err, store.ErrLocked) {
		return st, err
	}
	args := append([]any{"state", path, "wait", wait}, o.Holding...)
	log.Info("state store locked by another turnout; waiting for it to stop (send it SIGTERM)", args...)
	if o.BeforeStateWait != nil {
		o.BeforeStateWait()
	}
	return store.Open(path, store.WithClock(now), store.WithLockTimeout(wait))
}

// reloaded runs after every configuration load (under the gateway's apply
// lock): successful loads are adopted by the engine; every load is an event.
func (c *Core) reloaded(ev ReloadEvent) {
	if c.Engine == nil {
		return
	}
	if ev.Err != nil {
		n := len(config.Flatten(ev.Err))
		_, _ = c.Store.Append(store.Event{Type: "config_rejected", Actor: ev.Source,
			Message: fmt.Sprintf("configuration %s rejected (%d problems); still serving the last good one", ev.Path, n),
			Fields:  map[string]any{"errors": config.Flatten(ev.Err).Error()}})
		return
	}
	cfg := ev.Config
	if ev.Unchanged {
		_, _ = c.Store.Append(store.Event{Type: "config_reload", Actor: ev.Source,
			Message: fmt.Sprintf("configuration %s unchanged (%d services)", ev.Path, len(cfg.Services))})
		return
	}
	if err := c.Analysis.Update(cfg); err != nil {
		c.Log.Error("compiling the prometheus analysis queries; keeping the previous ones", "error", err)
	}
	if err := c.Engine.Sync(cfg); err != nil {
		c.Log.Error("persisting rollout state", "error", err)
	}
	c.Schedule.Sync(cfg)
	c.Live.Update(cfg, c.contracts.documents)
	c.Usage.Configure(cfg)
	if c.fleet != nil {
		c.fleet.reregister(cfg)
	}
	if c.onApply != nil {
		c.onApply(cfg)
	}
	_, _ = c.Store.Append(store.Event{Type: "config_reload", Actor: ev.Source,
		Message: fmt.Sprintf("configuration %s applied (%d services)", ev.Path, len(cfg.Services))})
}
