package gateway

import (
	"context"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/qnproxy"
	"github.com/turnout-gw/turnout/internal/route"
	"github.com/turnout-gw/turnout/internal/telemetry"
)

// startQN starts the listeners of the QN services (internal/qnproxy). They
// read the gateway's snapshot for every connection, so weight changes and
// rollbacks apply to QN devices as they do to HTTP requests, and record
// into the same stats registry the rollout engine analyses.
func (a *App) startQN(cfg *config.Config, now func() time.Time) error {
	a.QNMetrics = telemetry.NewQNMetrics(a.Metrics.Registry())
	a.QNMetrics.Configure(cfg)
	m, err := qnproxy.New(qnproxy.Options{
		Table:    func() *route.Table { return a.Gateway.Snapshot().Table },
		Stats:    a.Stats,
		Observer: a.QNMetrics,
		Log:      a.Log,
		Now:      now,
	})
	if err != nil {
		return err
	}
	a.QN = m
	if err := m.Update(cfg); err != nil {
		_ = m.Close(context.Background())
		a.QN = nil
		return err
	}
	return nil
}

// updateQN adopts a reloaded configuration: new QN services start
// listening, removed ones stop (a changed listen address is logged and
// needs a restart).
func (a *App) updateQN(cfg *config.Config) {
	if a.QN == nil {
		return
	}
	a.QNMetrics.Configure(cfg)
	if err := a.QN.Update(cfg); err != nil {
		a.Log.Error("qn listeners", "error", err)
	}
}

// stopQN closes the QN listeners and their connections.
func (a *App) stopQN(ctx context.Context) error {
	if a.QN == nil {
		return nil
	}
	return a.QN.Close(ctx)
}
