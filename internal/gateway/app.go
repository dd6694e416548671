package gateway

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/core"
	"github.com/turnout-gw/turnout/internal/mirror"
	"github.com/turnout-gw/turnout/internal/observe"
	"github.com/turnout-gw/turnout/internal/proxy"
	"github.com/turnout-gw/turnout/internal/qnproxy"
	"github.com/turnout-gw/turnout/internal/telemetry"
	"github.com/turnout-gw/turnout/internal/upstream"
	"github.com/turnout-gw/turnout/internal/xds"
)

// App is a whole running Turnout: the core.Core (store, stats, rollout
// engine, live configuration, metrics, admin API) plus the proxy, the mirror, the data-plane
// and admin listeners, the QN listeners and telemetry. serve, demo and the
// integration tests all start one.
type App struct {
	*core.Core
	Server *Server
	Proxy  *proxy.Handler
	Mirror *mirror.Manager
	// QN serves the QN services (protocol: qn) on their own listeners;
	// QNMetrics are its metrics, on the same registry.
	QN        *qnproxy.Manager
	QNMetrics *telemetry.QNMetrics
	// XDS serves the routing to Envoy and proxyless gRPC (nil without
	// xds.listen).
	XDS *xds.Server

	takeover *takeover            // nil unless AppOptions.Takeover
	tracing  *telemetry.Tracing   // nil when tracing is off
	access   *telemetry.AccessLog // nil when log.access is not set

	stopOnce sync.Once
	stopErr  error
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
	// Rand is the random source of fault injection (default math/rand/v2);
	// it must be safe for concurrent use.
	Rand func() uint64
	// StateWait is how long Start waits for another process to release a
	// locked state file (an old Turnout draining after SIGTERM) before it
	// fails with store.ErrLocked; <= 0 keeps the store's DefaultLockTimeout.
	// Start binds its listeners before it waits.
	StateWait time.Duration
	// Takeover binds every listener beside the Turnout that holds its
	// address and tells that one to drain (`turnout serve --takeover`, see
	// takeover); false refuses an address another Turnout holds.
	Takeover bool

	beforeStateWait func() // Start's: called before waiting for a locked state file
}

// core is the core's part of o; srv's bound addresses are logged while the
// core waits for a locked state file.
func (o AppOptions) core(srv *Server) core.Options {
	return core.Options{Log: o.Log, Watch: o.Watch, Debounce: o.Debounce, Tick: o.Tick, Now: o.Now, StateWait: o.StateWait,
		Holding: []any{"data", srv.Addr(), "admin", srv.AdminAddr()}, BeforeStateWait: o.beforeStateWait, AdminAddr: srv.AdminAddr()}
}

// Start binds every listener (exclusively, or with o.Takeover beside the
// old Turnout, which it then tells to drain), opens the store (waiting up to
// o.StateWait for an old Turnout to release it), compiles cfg and starts
// serving. path is the file later
// reloads read. A store that cannot be opened (locked, unreadable, corrupt)
// is an error: Turnout refuses to start rather than forget its rollouts.
func Start(cfg *config.Config, path string, o AppOptions) (*App, error) {
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	var to *takeover
	if o.Takeover {
		var err error
		if to, err = planTakeover(cfg, log); err != nil {
			return nil, err
		}
	}
	o.beforeStateWait = to.handover
	srv := &Server{Log: log, Now: o.Now, Bind: to.listen}
	if err := srv.Listen(cfg); err != nil {
		return nil, err
	}
	c, err := core.Open(cfg, path, o.core(srv))
	if err != nil {
		srv.Close()
		return nil, err
	}
	a := &App{Core: c, Server: srv, takeover: to}
	a.Mirror, err = mirror.New(mirror.Options{Pool: func(u string) *upstream.Pool { return a.Configs.Snapshot().Pools[u] },
		Store: a.Store, Observe: a.Metrics.ObserveMirror, Log: a.Log, Now: a.Clock()})
	if err != nil {
		a.closeEarly()
		return nil, err
	}
	hard := newHardening(a.Metrics.Registry(), a.Metrics.ObserveFault)
	if err := a.newXDS(cfg, a.Clock(), hard.untrustedColour); err != nil {
		a.closeEarly()
		return nil, err
	}
	x := core.Extensions{Gate: a.Mirror.Gate(), OnApply: a.applied, Diffs: a.Mirror.ServeDiffs, QNTargets: a.qnTargets,
		Options: []core.Option{core.WithPublishHook(a.publishXDS), core.WithUntrustedReport(hard.untrustedColour)}}
	if err := a.Compile(cfg, path, x); err != nil {
		a.closeEarly()
		return nil, err
	}
	popts := []proxy.Option{proxy.WithLogger(a.Log), proxy.WithClock(a.Clock()), proxy.WithObserver(observe.All{a.Observer(), hard.observer()}),
		proxy.WithMirror(a.Mirror), proxy.WithTap(a.Live), proxy.WithEvents(hard.events())}
	if o.Rand != nil {
		popts = append(popts, proxy.WithRand(o.Rand))
	}
	tracer, err := a.startTelemetry(cfg, path)
	if err != nil {
		a.closeEarly()
		return nil, err
	}
	if tracer != nil {
		popts = append(popts, proxy.WithTracer(tracer))
	}
	h, err := proxy.New(a.Configs.Snapshot, popts...)
	if err != nil {
		a.closeEarly()
		return nil, err
	}
	a.Proxy = h
	if err := a.newQN(a.Clock()); err != nil {
		a.closeEarly()
		return nil, err
	}
	a.Server.Data, a.Server.Admin, a.Server.Reject = h, a.Admin, hard.reject
	if err := a.Server.Serve(cfg); err != nil {
		a.closeEarly()
		return nil, err
	}
	if err := a.startQN(cfg); err != nil {
		_ = a.QN.Close(context.Background())
		_ = a.Server.Shutdown(context.Background())
		a.closeEarly()
		return nil, err
	}
	if err := a.startXDS(cfg); err != nil {
		_ = a.stopQN(context.Background())
		_ = a.Server.Shutdown(context.Background())
		a.closeEarly()
		return nil, err
	}
	if err := a.Run(path); err != nil {
		_ = a.Stop(context.Background())
		return nil, err
	}
	a.Log.Info("turnout serving", "data", a.Server.Addr(), "admin", a.Server.AdminAddr(), "services", len(cfg.Services), "state", cfg.State)
	to.finish()
	return a, nil
}

// applied is the App's part of every applied configuration, after the
// engine adopted it: the mirror and the QN listeners follow.
func (a *App) applied(cfg *config.Config) {
	if a.Mirror != nil {
		a.Mirror.Update(cfg)
	}
	a.updateQN(cfg)
}

// Stop drains. Every listener stops accepting at once and open connections
// are told to close (Connection: close, HTTP/2 GOAWAY); the watcher, the
// rollout engine, the xDS server and the mirror stop, and the state store
// is closed right away, so that a new process waiting for it (an upgrade on
// the same ports) starts serving while this one still finishes its
// in-flight requests. Then Stop waits for those until ctx ends (and cuts
// what is left), closes the pools and flushes the access log and traces.
// Running past ctx is not an error. Later calls return the first one's
// result.
func (a *App) Stop(ctx context.Context) error {
	a.stopOnce.Do(func() { a.stopErr = a.stop(ctx) })
	return a.stopErr
}

func (a *App) stop(ctx context.Context) error {
	drained := make(chan error, 1)
	go func() { drained <- a.Server.Shutdown(ctx) }()
	a.stopXDS()
	err := a.stopQN(ctx)
	a.Halt()
	err = errors.Join(err, a.Mirror.Close(ctx))
	if cerr := a.ReleaseState(); cerr != nil {
		err = errors.Join(err, cerr)
	} else {
		a.Log.Info("state store released; finishing in-flight requests")
	}
	err = errors.Join(err, <-drained)
	a.CloseRest()
	err = errors.Join(err, a.flushTelemetry(ctx))
	if errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	return err
}

// closeEarly releases what a failed Start acquired.
func (a *App) closeEarly() {
	a.Server.Close()
	_ = a.flushTelemetry(context.Background())
	if a.Mirror != nil {
		_ = a.Mirror.Close(context.Background())
	}
	_ = a.Close()
}
