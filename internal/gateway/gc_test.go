package gateway

import (
	"runtime/debug"
	"testing"
)

// TestRelaxGC: a reload raises the collector's target and restores it, and
// never lowers a higher one or turns a disabled collector on.
func TestRelaxGC(t *testing.T) {
	orig := debug.SetGCPercent(100)
	defer debug.SetGCPercent(orig)
	for _, tc := range []struct{ before, during int }{
		{100, reloadGCPercent},
		{50, reloadGCPercent},
		{800, 800},
		{-1, -1},
	} {
		debug.SetGCPercent(tc.before)
		restore := relaxGC()
		if got := debug.SetGCPercent(tc.during); got != tc.during {
			t.Errorf("GOGC %d: %d during the reload, want %d", tc.before, got, tc.during)
		}
		restore()
		if got := debug.SetGCPercent(tc.before); got != tc.before {
			t.Errorf("GOGC %d: %d after the reload", tc.before, got)
		}
	}
}
