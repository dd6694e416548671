package gateway

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"time"

	"github.com/turnout-gw/turnout/internal/admin"
	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/proxy"
)

// App is a whole running Turnout: gateway, data-plane and admin listeners,
// and the configuration watcher. serve, demo and the integration tests all
// start one.
type App struct {
	Gateway *Gateway
	Server  *Server
	Proxy   *proxy.Handler
	Admin   *admin.API
	Log     *slog.Logger

	cancel context.CancelFunc
}

// AppOptions configure Start.
type AppOptions struct {
	Log *slog.Logger
	// Watch reloads on file changes and SIGHUP when true.
	Watch bool
	// Debounce for file-change reloads (default 200ms).
	Debounce time.Duration
}

// Start compiles cfg, binds every listener and starts serving. path is the
// file later reloads read.
func Start(cfg *config.Config, path string, o AppOptions) (*App, error) {
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	g, err := New(cfg, path, WithLogger(log))
	if err != nil {
		return nil, err
	}
	h, err := proxy.New(g.Snapshot, proxy.WithLogger(log))
	if err != nil {
		g.Close()
		return nil, err
	}
	api := admin.New(admin.Options{
		Token:  func() string { return os.Getenv(g.Config().Admin.TokenEnv) },
		Reload: ReloaderFunc(g.Reload),
		Log:    log,
	})
	srv := &Server{Data: h, Admin: api, Log: log}
	if err := srv.Start(cfg); err != nil {
		g.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	a := &App{Gateway: g, Server: srv, Proxy: h, Admin: api, Log: log, cancel: cancel}
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
	log.Info("turnout serving", "data", srv.Addr(), "admin", srv.AdminAddr(), "services", len(cfg.Services))
	return a, nil
}

// Stop drains the listeners (bounded by ctx) and stops the pools.
func (a *App) Stop(ctx context.Context) error {
	a.cancel()
	err := a.Server.Shutdown(ctx)
	a.Gateway.Close()
	if errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	return err
}

// ReloaderFunc adapts Gateway.Reload to admin.Reloader.
type ReloaderFunc = admin.ReloaderFunc
