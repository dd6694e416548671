package gateway

import (
	"context"
	"time"

	"github.com/turnout-gw/turnout/internal/admin"
	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/qnproxy"
	"github.com/turnout-gw/turnout/internal/route"
	"github.com/turnout-gw/turnout/internal/telemetry"
)

// newQN builds the QN manager (internal/qnproxy) without listeners. It
// reads the gateway's snapshot for every connection, so weight changes and
// rollbacks apply to QN devices as they do to HTTP requests, and records
// into the same stats registry the rollout engine analyses.
func (a *App) newQN(now func() time.Time) error {
	a.QNMetrics = telemetry.NewQNMetrics(a.Metrics.Registry())
	m, err := qnproxy.New(qnproxy.Options{
		Table:    func() *route.Table { return a.Configs.Snapshot().Table },
		Stats:    a.Stats,
		Observer: a.QNMetrics,
		Log:      a.Log,
		Now:      now,
		Listen:   a.takeover.listen,
	})
	if err != nil {
		return err
	}
	a.QN = m
	return nil
}

// startQN starts the listeners of the QN services of cfg.
func (a *App) startQN(cfg *config.Config) error {
	a.QNMetrics.Configure(cfg)
	return a.QN.Update(cfg)
}

// qnTargets is the passive health of a tcp:// upstream's targets, for the
// admin API.
func (a *App) qnTargets(upstream string) []admin.TargetView {
	if a.QN == nil {
		return nil // not built yet: every target shown healthy
	}
	var out []admin.TargetView
	for _, t := range a.QN.Targets(a.Configs.Config(), upstream) {
		out = append(out, admin.TargetView(t))
	}
	return out
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
