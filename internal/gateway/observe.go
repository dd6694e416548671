package gateway

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/httperr"
	"github.com/turnout-gw/turnout/internal/proxy"
	"github.com/turnout-gw/turnout/internal/stats"
	"github.com/turnout-gw/turnout/internal/telemetry"
	"github.com/turnout-gw/turnout/internal/upstream"
)

// statsObserver records every upstream attempt in the stats registry, keyed
// by (service, version, upstream). A failure is a 5xx answer or a transport
// error; a request that failed because of its client (went away, or sent a
// body that was malformed, cut short, too slow or too large:
// httperr.ClientCaused) is not the upstream's failure and is not recorded,
// nor is a request refused by the upstream's max_connections (it never
// reached the version).
func statsObserver(reg *stats.Registry) proxy.Observer {
	return proxy.ObserverFuncs{
		AttemptedFunc: func(a *proxy.Attempt) {
			if a.Err != nil && (httperr.ClientCaused(a.Err) || errors.Is(a.Err, upstream.ErrAtCapacity)) {
				return
			}
			failed := a.Err != nil || a.Status >= 500
			reg.Record(stats.Key{Service: a.Service, Version: a.Version, Upstream: a.Upstream}, failed, a.Duration)
		},
	}
}

// measureReload runs after c.reloaded on every configuration load: it
// counts reloads (not the load at start) and lets the metrics adopt the
// configuration and the rollouts' states after it.
func (c *Core) measureReload(ev ReloadEvent) {
	if ev.Source != sourceStart {
		c.Metrics.Reloaded(ev.Err)
	}
	if ev.Err == nil && !ev.Unchanged {
		c.Metrics.Configure(ev.Config, c.Engine.Statuses())
		if l := ev.Config.Log; l.Level != c.logCfg.Level || l.Format != c.logCfg.Format || l.Access != c.logCfg.Access {
			c.Log.Warn("the log block changed; log settings take effect at the next start", "level", c.logCfg.Level,
				"format", c.logCfg.Format, "access", c.logCfg.Access)
		}
	}
}

// flushTimeout bounds how long Stop waits for the last spans to be exported,
// even when the drain used up ctx.
const flushTimeout = 5 * time.Second

// startTelemetry starts tracing (when the OTEL_* variables ask for it) and
// the access log (when log.access is set) and returns the proxy's Tracer:
// nil when neither is on.
func (a *App) startTelemetry(cfg *config.Config, path string) (proxy.Tracer, error) {
	var err error
	if a.tracing, err = telemetry.NewTracing(context.Background(), a.Log); err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	var tracer proxy.Tracer
	if a.tracing != nil {
		tracer = a.tracing
		a.Log.Info("tracing on", "protocol", telemetry.TracingProtocol())
	}
	if cfg.Log.Access != "" {
		dest := AccessLogPath(cfg, path)
		if a.access, err = telemetry.OpenAccessLog(dest, telemetry.AccessLogBuffer); err != nil {
			return nil, err
		}
		a.Metrics.WatchAccessLog(a.access)
		tracer = a.access.Tracer(tracer)
		a.Log.Info("access log on", "to", dest)
	}
	return tracer, nil
}

// AccessLogPath resolves log.access: stdout and stderr stay, a relative
// path is taken relative to the configuration file's directory.
func AccessLogPath(cfg *config.Config, path string) string {
	v := cfg.Log.Access
	if v == telemetry.AccessStdout || v == telemetry.AccessStderr || v == "" || filepath.IsAbs(v) || path == "" {
		return v
	}
	return filepath.Join(filepath.Dir(path), v)
}

// flushTelemetry writes the access log lines still queued and exports the
// spans still batched, then stops both.
func (a *App) flushTelemetry(ctx context.Context) error {
	var errs []error
	if a.access != nil {
		if err := a.access.Close(); err != nil {
			errs = append(errs, fmt.Errorf("access log: %w", err))
		}
	}
	if a.tracing != nil {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flushTimeout)
		defer cancel()
		if err := a.tracing.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("flushing traces: %w", err))
		}
	}
	return errors.Join(errs...)
}
