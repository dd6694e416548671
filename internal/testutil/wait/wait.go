// Package wait is the one way Turnout's tests wait: they poll an
// observable condition (a counter, a state, an event, a metric) until it
// holds, bounded by a deadline and so by a number of polls, instead of
// sleeping and hoping. It is a leaf package so any package's own tests can
// import it; testutil.Eventually is the same helper for integration tests.
//
// A wait never asserts how long something took: the deadline is only how
// long a test is willing to wait before it calls the condition broken.
package wait

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Interval is the pause between two polls.
const Interval = 10 * time.Millisecond

// ErrTimeout is returned by Poll when the condition never held.
var ErrTimeout = errors.New("condition not met before the deadline")

// For polls cond every Interval until it returns true, and fails t (from the
// test's goroutine only) naming what it waited for when timeout passes
// first. cond runs on the caller's goroutine, at least once.
func For(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	ForErr(t, timeout, what, func() error {
		if cond() {
			return nil
		}
		return errors.New("not yet")
	})
}

// ForErr polls check every Interval until it returns nil, and fails t naming
// what and check's last error when timeout passes first: for conditions
// whose failure is worth reading (the last status seen, the last value).
func ForErr(t testing.TB, timeout time.Duration, what string, check func() error) {
	t.Helper()
	if err := Poll(timeout, check); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// Poll polls check every Interval until it returns nil and returns nil, or
// returns an error wrapping ErrTimeout and check's last error once timeout
// has passed. It polls at most timeout/Interval+2 times, so it is bounded in
// count as well as in time; it is safe to call from any goroutine.
func Poll(timeout time.Duration, check func() error) error {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(Interval)
	defer tick.Stop()
	var last error
	for n := int(timeout/Interval) + 2; n > 0; n-- {
		if last = check(); last == nil {
			return nil
		}
		if !time.Now().Before(deadline) {
			break
		}
		<-tick.C
	}
	return fmt.Errorf("%w after %v (last: %w)", ErrTimeout, timeout, last)
}

// GoroutineIn returns a condition for For that holds while some goroutine's
// own frames (its creator's excluded) name every one of frames, e.g.
// "runtime_pollWait" and a function: a goroutine blocked in that function's
// network read is a state a test can wait for before it acts.
func GoroutineIn(frames ...string) func() bool {
	return func() bool {
		buf := make([]byte, 1<<20)
		for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
			g, _, _ = strings.Cut(g, "\ncreated by ")
			all := true
			for _, f := range frames {
				all = all && strings.Contains(g, f)
			}
			if all {
				return true
			}
		}
		return false
	}
}
