package gateway

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/observe"
	"github.com/turnout-gw/turnout/internal/telemetry"
)

// flushTimeout bounds how long Stop waits for the last spans to be exported,
// even when the drain used up ctx.
const flushTimeout = 5 * time.Second

// startTelemetry starts tracing (when the OTEL_* variables ask for it) and
// the access log (when log.access is set) and returns the proxy's Tracer:
// nil when neither is on.
func (a *App) startTelemetry(cfg *config.Config, path string) (observe.Tracer, error) {
	var err error
	if a.tracing, err = telemetry.NewTracing(context.Background(), a.Log); err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	var tracer observe.Tracer
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
