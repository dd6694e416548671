package stats

import (
	"time"

	"github.com/turnout-gw/turnout/internal/testutil/testclock"
)

// t0 is a whole multiple of 10 s (and of 60 s), so buckets line up with it.
var t0 = time.Unix(1_700_000_040, 0).UTC()

func newFakeClock() *testclock.Clock { return testclock.New(t0) }

func newTestRegistry() (*Registry, *testclock.Clock) {
	c := newFakeClock()
	return NewRegistry(c.Now), c
}

// recordN records n outcomes of which errs failed, all with latency lat.
func recordN(r *Registry, k Key, n, errs int, lat time.Duration) {
	for i := range n {
		r.Record(k, i < errs, lat)
	}
}
