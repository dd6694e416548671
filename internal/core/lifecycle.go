package core

import (
	"fmt"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/lifecycle"
	"github.com/turnout-gw/turnout/internal/route"
)

// newScheduler creates the retirement schedules' Scheduler over the
// core's store, clock and notifier; republish publishes a routing table
// compiled with its effective lifecycles.
//
// In a fleet the applied steps are shared through etcd (the store's
// "lifecycle" blobs, cluster.SharedBuckets) and only the leader applies
// due steps; every member re-reads the applied steps from its cache on
// each tick and publishes when they changed, so all members follow within
// about a tick of the watch. A force sent to any member is written to the
// fleet and followed by all.
//
// The guard reads the core's usage tracker (internal/usage): the requests
// and clients of the version over hold_while's window; in a fleet, every
// live member's (fleetUsage), holding the step when one does not answer.
func (c *Core) newScheduler(republish func() error) (*lifecycle.Scheduler, error) {
	opts := []lifecycle.Option{lifecycle.WithClock(c.now), lifecycle.WithLogger(c.Log), lifecycle.WithApply(republish),
		lifecycle.WithNotify(c.notifier.Send)}
	switch {
	case c.Usage != nil && c.fleet != nil:
		opts = append(opts, lifecycle.WithUsage(fleetUsage{local: c.Usage, f: c.fleet}))
	case c.Usage != nil:
		opts = append(opts, lifecycle.WithUsage(c.Usage))
	}
	if c.fleet != nil {
		opts = append(opts, lifecycle.WithLeading(c.fleet.leading))
	}
	return lifecycle.New(c.Store, opts...)
}

// recentUsage is what /api/v1/internal/usage serves: this member's usage
// of a version, for a fleet's leader (nil without a fleet or a tracker).
func (c *Core) recentUsage() func(service, version string, window time.Duration) (uint64, []string) {
	if c.fleet == nil || c.Usage == nil {
		return nil
	}
	return c.Usage.Recent
}

// scheduleTick is how often the schedules are looked at: the engine's
// tick, at least every second.
func scheduleTick(engine time.Duration) time.Duration {
	return min(engine, time.Second)
}

// effective is cfg with the lifecycles the schedules applied.
func (g *Configs) effective(cfg *config.Config) *config.Config {
	if g.lifecycles == nil {
		return cfg
	}
	return cfg.WithLifecycles(g.lifecycles(cfg))
}

// Relifecycle publishes a table compiled with the current effective
// lifecycles, keeping the live weights and everything else of the current
// snapshot (only the services whose lifecycles changed are compiled).
func (g *Configs) Relifecycle() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	cur := g.snap.Load()
	t, err := route.Compile(g.effective(g.cfg.Load()), route.WithWeights(cur.Table.Weights()), route.WithPrevious(cur.Table))
	if err != nil {
		return fmt.Errorf("compiling the effective lifecycles: %w", err)
	}
	next := *cur
	next.Table = t
	g.snap.Store(&next)
	g.published(t)
	return nil
}
