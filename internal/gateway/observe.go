package gateway

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/turnout-gw/turnout/internal/proxy"
	"github.com/turnout-gw/turnout/internal/stats"
)

// statsObserver records every upstream attempt in the stats registry, keyed
// by (service, version, upstream). A failure is a 5xx answer or a transport
// error; a client that went away is not the upstream's failure and is not
// recorded.
func statsObserver(reg *stats.Registry) proxy.Observer {
	return proxy.ObserverFuncs{
		AttemptedFunc: func(a *proxy.Attempt) {
			if a.Err != nil && errors.Is(a.Err, context.Canceled) {
				return
			}
			failed := a.Err != nil || a.Status >= 500
			reg.Record(stats.Key{Service: a.Service, Version: a.Version, Upstream: a.Upstream}, failed, a.Duration)
		},
	}
}

// measureReload runs after a.reloaded on every configuration load: it
// counts reloads (not the load at start) and lets the metrics adopt the
// configuration and the rollouts' states after it.
func (a *App) measureReload(ev ReloadEvent) {
	if ev.Source != sourceStart {
		a.Metrics.Reloaded(ev.Err)
	}
	if ev.Err == nil {
		a.Metrics.Configure(ev.Config, a.Engine.Statuses())
	}
}

// flushTimeout bounds how long Stop waits for the last spans to be exported,
// even when the drain used up ctx.
const flushTimeout = 5 * time.Second

// flushTelemetry exports the spans still batched and stops the tracer.
func (a *App) flushTelemetry(ctx context.Context) error {
	if a.tracing == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flushTimeout)
	defer cancel()
	if err := a.tracing.Shutdown(ctx); err != nil {
		return fmt.Errorf("flushing traces: %w", err)
	}
	return nil
}
