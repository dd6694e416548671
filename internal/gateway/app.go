package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/turnout-gw/turnout/internal/admin"
	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/mirror"
	"github.com/turnout-gw/turnout/internal/proxy"
	"github.com/turnout-gw/turnout/internal/qnproxy"
	"github.com/turnout-gw/turnout/internal/rollout"
	"github.com/turnout-gw/turnout/internal/stats"
	"github.com/turnout-gw/turnout/internal/store"
	"github.com/turnout-gw/turnout/internal/telemetry"
)

// App is a whole running Turnout: store, stats, rollout engine, gateway,
// data-plane and admin listeners, and the configuration watcher. serve, demo
// and the integration tests all start one.
type App struct {
	Gateway *Gateway
	Server  *Server
	Proxy   *proxy.Handler
	Admin   *admin.API
	Engine  *rollout.Engine
	Stats   *stats.Registry
	Mirror  *mirror.Manager
	Store   store.Store
	Log     *slog.Logger
	// Metrics is the Prometheus registry served at the admin port's
	// /metrics.
	Metrics *telemetry.Metrics
	// QN serves the QN services (protocol: qn) on their own listeners;
	// QNMetrics are its metrics, on the same registry.
	QN        *qnproxy.Manager
	QNMetrics *telemetry.QNMetrics

	tracing  *telemetry.Tracing   // nil when tracing is off
	access   *telemetry.AccessLog // nil when log.access is not set
	logCfg   config.Log           // the log block at start
	notifier *rollout.Notifier
	cancel   context.CancelFunc
	done     chan struct{}
}

// AppOptions configure Start.
type AppOptions struct {
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
}

// StatePath resolves the config's `state:` value: "memory" stays, a
// relative path is taken relative to the configuration file's directory.
func StatePath(cfg *config.Config, path string) string {
	if cfg.State == "memory" || filepath.IsAbs(cfg.State) || path == "" {
		return cfg.State
	}
	return filepath.Join(filepath.Dir(path), cfg.State)
}

// Start opens the store, compiles cfg, binds every listener and starts
// serving. path is the file later reloads read. A store that cannot be
// opened (locked, unreadable, corrupt) is an error: Turnout refuses to
// start rather than forget its rollouts.
func Start(cfg *config.Config, path string, o AppOptions) (*App, error) {
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	st, err := store.Open(StatePath(cfg, path), store.WithClock(now))
	if err != nil {
		return nil, fmt.Errorf("opening state store: %w", err)
	}
	a := &App{Store: st, Log: log, Stats: stats.NewRegistry(now), Metrics: telemetry.NewMetrics(), logCfg: cfg.Log, done: make(chan struct{})}
	a.notifier = rollout.NewNotifier(log, 1024, 5, time.Second)
	var g *Gateway
	a.Mirror, err = mirror.New(mirror.Options{Snapshot: func() *proxy.Snapshot { return g.Snapshot() },
		Store: st, Observe: a.Metrics.ObserveMirror, Log: log, Now: now})
	if err != nil {
		a.closeEarly()
		return nil, err
	}
	contracts := newContractState() // the engine's Blocker reads it while New applies cfg
	eng, err := rollout.New(st, a.Stats, rollout.WithClock(now), rollout.WithLogger(log), rollout.WithNotifier(a.notifier),
		rollout.WithBlocker(contracts.Blocker),
		rollout.WithApply(func(service string, w float64) error { return g.SetWeight(service, w) }),
		rollout.WithObserver(a.Metrics.ObserveRollout), rollout.WithGate(a.Mirror.Gate()))
	if err != nil {
		a.closeEarly()
		return nil, err
	}
	a.Engine = eng
	g, err = New(cfg, path, WithLogger(log), WithClock(now), WithWeights(eng.Plan), WithReloadHook(a.reloaded), WithReloadHook(a.measureReload),
		withContractState(contracts))
	if err != nil {
		a.closeEarly()
		return nil, err
	}
	a.Gateway = g
	popts := []proxy.Option{proxy.WithLogger(log), proxy.WithClock(now),
		proxy.WithObserver(proxy.Observers{statsObserver(a.Stats), a.Metrics.Observer()}), proxy.WithMirror(a.Mirror)}
	tracer, err := a.startTelemetry(cfg, path)
	if err != nil {
		g.Close()
		a.closeEarly()
		return nil, err
	}
	if tracer != nil {
		popts = append(popts, proxy.WithTracer(tracer))
	}
	h, err := proxy.New(g.Snapshot, popts...)
	if err != nil {
		g.Close()
		a.closeEarly()
		return nil, err
	}
	a.Proxy = h
	if err := a.newQN(now); err != nil {
		g.Close()
		a.closeEarly()
		return nil, err
	}
	a.Admin = admin.New(admin.Options{
		Token:     func() string { return os.Getenv(g.Config().Admin.TokenEnv) },
		Reload:    ReloaderFunc(g.Reload),
		Log:       log,
		Engine:    eng,
		Events:    st,
		Snapshot:  g.Snapshot,
		Stats:     a.Stats,
		QNTargets: a.qnTargets,
	})
	a.Admin.Handle("GET /metrics", a.Metrics.Handler().ServeHTTP)
	a.Admin.Handle("GET /api/v1/diffs/{service}", a.Mirror.ServeDiffs)
	g.RegisterContracts(a.Admin)
	a.Server = &Server{Data: h, Admin: a.Admin, Log: log}
	if err := a.Server.Start(cfg); err != nil {
		g.Close()
		a.closeEarly()
		return nil, err
	}
	if err := a.startQN(cfg); err != nil {
		_ = a.QN.Close(context.Background())
		_ = a.Server.Shutdown(context.Background())
		g.Close()
		a.closeEarly()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	tick := o.Tick
	if tick <= 0 {
		tick = 250 * time.Millisecond
	}
	go func() {
		defer close(a.done)
		eng.Run(ctx, tick)
	}()
	if o.Watch && path != "" {
		d := o.Debounce
		if d <= 0 {
			d = 200 * time.Millisecond
		}
		if err := g.Watch(ctx, d); err != nil {
			_ = a.Stop(context.Background())
			return nil, err
		}
	}
	log.Info("turnout serving", "data", a.Server.Addr(), "admin", a.Server.AdminAddr(), "services", len(cfg.Services), "state", cfg.State)
	return a, nil
}

// reloaded runs after every configuration load (under the gateway's apply
// lock): successful loads are adopted by the engine; every load is an event.
func (a *App) reloaded(ev ReloadEvent) {
	if a.Engine == nil {
		return
	}
	if ev.Err != nil {
		n := len(config.Flatten(ev.Err))
		_, _ = a.Store.Append(store.Event{Type: "config_rejected", Actor: ev.Source,
			Message: fmt.Sprintf("configuration %s rejected (%d problems); still serving the last good one", ev.Path, n),
			Fields:  map[string]any{"errors": config.Flatten(ev.Err).Error()}})
		return
	}
	cfg := ev.Config
	if ev.Unchanged {
		_, _ = a.Store.Append(store.Event{Type: "config_reload", Actor: ev.Source,
			Message: fmt.Sprintf("configuration %s unchanged (%d services)", ev.Path, len(cfg.Services))})
		return
	}
	if err := a.Engine.Sync(cfg); err != nil {
		a.Log.Error("persisting rollout state", "error", err)
	}
	a.Mirror.Update(cfg)
	a.updateQN(cfg)
	_, _ = a.Store.Append(store.Event{Type: "config_reload", Actor: ev.Source,
		Message: fmt.Sprintf("configuration %s applied (%d services)", ev.Path, len(cfg.Services))})
}

// Stop drains the listeners (bounded by ctx), stops the engine and the
// pools, and closes the store.
func (a *App) Stop(ctx context.Context) error {
	if a.cancel != nil {
		a.cancel()
		<-a.done
	}
	err := errors.Join(a.stopQN(ctx), a.Server.Shutdown(ctx))
	err = errors.Join(err, a.Mirror.Close(ctx))
	a.Gateway.Close()
	a.notifier.Close()
	err = errors.Join(err, a.flushTelemetry(ctx))
	if cerr := a.Store.Close(); cerr != nil {
		err = errors.Join(err, cerr)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	return err
}

func (a *App) closeEarly() {
	_ = a.flushTelemetry(context.Background())
	if a.notifier != nil {
		a.notifier.Close()
	}
	if a.Mirror != nil {
		_ = a.Mirror.Close(context.Background())
	}
	_ = a.Store.Close()
}

// ReloaderFunc adapts Gateway.Reload to admin.Reloader.
type ReloaderFunc = admin.ReloaderFunc
