package stats

import (
	"sync"
	"time"
)

// fakeClock is a manually advanced clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

// t0 is a whole multiple of 10 s (and of 60 s), so buckets line up with it.
var t0 = time.Unix(1_700_000_040, 0).UTC()

func newFakeClock() *fakeClock { return &fakeClock{t: t0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestRegistry() (*Registry, *fakeClock) {
	c := newFakeClock()
	return NewRegistry(c.Now), c
}

// recordN records n outcomes of which errs failed, all with latency lat.
func recordN(r *Registry, k Key, n, errs int, lat time.Duration) {
	for i := range n {
		r.Record(k, i < errs, lat)
	}
}
