package core

import (
	"errors"

	"github.com/turnout-gw/turnout/internal/httperr"
	"github.com/turnout-gw/turnout/internal/observe"
	"github.com/turnout-gw/turnout/internal/stats"
	"github.com/turnout-gw/turnout/internal/upstream"
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
