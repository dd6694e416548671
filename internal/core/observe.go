package core

import (
	"errors"
	"net/http"

	"github.com/turnout-gw/turnout/internal/httperr"
	"github.com/turnout-gw/turnout/internal/observe"
	"github.com/turnout-gw/turnout/internal/stats"
	"github.com/turnout-gw/turnout/internal/upstream"
	"github.com/turnout-gw/turnout/internal/usage"
)

// statsObserver records every upstream attempt in the stats registry, keyed
// by (service, version, upstream). A failure is a 5xx answer or a transport
// error; a request that failed because of its client (went away, or sent a
// body that was malformed, cut short, too slow or too large:
// httperr.ClientCaused) is not the upstream's failure and is not recorded,
// nor is a request refused by the upstream's max_connections (it never
// reached the version).
func statsObserver(reg *stats.Registry) observe.Observer {
	return observe.Funcs{
		AttemptedFunc: func(a *observe.Attempt) {
			if a.Err != nil && (httperr.ClientCaused(a.Err) || errors.Is(a.Err, upstream.ErrAtCapacity)) {
				return
			}
			failed := a.Err != nil || a.Status >= 500
			reg.Record(stats.Key{Service: a.Service, Version: a.Version, Upstream: a.Upstream}, failed, a.Duration)
		},
	}
}

// Observer is what the data plane reports requests to: the stats registry
// the engine analyses, the Prometheus metrics and the usage counts.
func (c *Core) Observer() observe.Observer {
	return observe.All{statsObserver(c.Stats), c.Metrics.Observer(), usageObserver(c.Usage)}
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

// usageObserver counts every finished request in the usage tracker under
// the version that served it: the version the client got (for a version
// served by another through an adapter, its own name), or, for Turnout's
// 308 and 410 answers, the redirected or gone version the client still
// calls. Requests no version served (400, 404, 406, a full service) are
// not counted. Both appliers report here: the proxy and the in-process
// middleware.
func usageObserver(t *usage.Tracker) observe.Observer {
	return observe.Funcs{FinishedFunc: func(r *observe.Result) {
		d := r.Decision
		if d == nil || d.Service == nil {
			return
		}
		v := r.Served
		if v == nil && (d.Status == http.StatusPermanentRedirect || d.Status == http.StatusGone) {
			v = d.Version
		}
		if v == nil {
			return
		}
		t.Record(d.Service.Name, v.Name, r.Request, d.Path)
	}}
}

// usageOperation names a request's operation from its version's OpenAPI
// document when the live contracts know it.
func (c *Core) usageOperation(service, version, method, path string) string {
	if c.Live == nil {
		return ""
	}
	return c.Live.Operation(service, version, method, path)
}
