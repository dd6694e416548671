package core

import (
	"time"

	"github.com/turnout-gw/turnout/internal/lifecycle"
)

// newScheduler creates the retirement schedules' Scheduler over the
// core's store, clock and notifier; republish publishes a routing table
// compiled with its effective lifecycles.
//
// In a fleet the applied steps live in each member's local store (blobs
// are not shared through etcd) and every member runs the schedules by
// itself: the dates are the same everywhere, the guard reads the member's
// own usage, and a force must be sent to each member.
//
// The guard reads Options.Usage; until the usage tracker (internal/usage)
// is connected there, a step hold_while guards is held with the reason
// that no usage is known.
func (c *Core) newScheduler(republish func() error) (*lifecycle.Scheduler, error) {
	opts := []lifecycle.Option{lifecycle.WithClock(c.now), lifecycle.WithLogger(c.Log), lifecycle.WithApply(republish),
		lifecycle.WithNotify(c.notifier.Send)}
	if c.opts.Usage != nil {
		opts = append(opts, lifecycle.WithUsage(c.opts.Usage))
	}
	return lifecycle.New(c.Store, opts...)
}

// scheduleTick is how often the schedules are looked at: the engine's
// tick, at least every second.
func scheduleTick(engine time.Duration) time.Duration {
	return min(engine, time.Second)
}
