package gctune

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/testutil/wait"
)

func TestPercentFor(t *testing.T) {
	for _, tc := range []struct {
		name          string
		live, minGoal uint64
		want          int
	}{
		{"not measured yet", 0, DefaultMinGoal, 100},
		{"tiny heap: capped", 1 << 20, DefaultMinGoal, 800},
		{"4 MiB live: collect at 20", 4 << 20, DefaultMinGoal, 400},
		{"8 MiB live", 8 << 20, DefaultMinGoal, 150},
		{"half the goal live: Go's default", 10 << 20, DefaultMinGoal, 100},
		{"15 MiB live (1,000 services): the default, no extra memory", 15 << 20, DefaultMinGoal, 100},
		{"more than the goal live", 200 << 20, DefaultMinGoal, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := PercentFor(tc.live, tc.minGoal); got != tc.want {
				t.Fatalf("PercentFor(%d, %d) = %d, want %d", tc.live, tc.minGoal, got, tc.want)
			}
		})
	}
}

func TestNewRefusesNoGoal(t *testing.T) {
	if _, err := New(0); err == nil {
		t.Fatal("New(0) succeeded")
	}
}

// keep holds live memory so the live heap is what the test says.
var keep [][]byte

// TestTunerFollowsTheLiveHeap runs a real Tuner in this process: with a
// small live heap it sets a high percent; when the live heap grows past
// the goal, the next collections bring it back to 100; Stop restores
// what was set before.
func TestTunerFollowsTheLiveHeap(t *testing.T) {
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)
	tu, err := New(16 << 20)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	tu.Start()
	waitPercent(t, tu, func(p int) bool { return p > 200 }, "above 200 with a small live heap")
	if got := debug.SetGCPercent(tu.Percent()); got != tu.Percent() {
		t.Fatalf("runtime percent %d, tuner says %d", got, tu.Percent())
	}

	for i := 0; i < 32; i++ {
		keep = append(keep, make([]byte, 1<<20)) // 32 MiB live: more than the goal
	}
	waitPercent(t, tu, func(p int) bool { return p == 100 }, "100 with 32 MiB live")
	keep = nil

	tu.Stop()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("after Stop the percent is %d, want the 100 in force before Start", got)
	}
}

// waitPercent collects until the tuner's percent satisfies ok (at most
// 10 s, one collection per poll).
func waitPercent(t *testing.T, tu *Tuner, ok func(int) bool, what string) {
	t.Helper()
	wait.ForErr(t, 10*time.Second, "the percent to be "+what, func() error {
		if p := tu.Percent(); !ok(p) {
			runtime.GC() // the tuner runs from the finalizer of a collection
			return fmt.Errorf("percent %d", p)
		}
		return nil
	})
}
