package cli

import (
	"os"
	"runtime/debug"
	"testing"
)

// TestTuneRuntime: without GOGC the collector target is Turnout's default;
// with GOGC set it is left as the environment says.
func TestTuneRuntime(t *testing.T) {
	prev := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(prev) })

	t.Setenv("GOGC", "") // restored after the test
	if err := os.Unsetenv("GOGC"); err != nil {
		t.Fatal(err)
	}
	tuneRuntime()
	if got := debug.SetGCPercent(100); got != defaultGCPercent {
		t.Fatalf("GC percent %d without GOGC, want %d", got, defaultGCPercent)
	}
	t.Setenv("GOGC", "100")
	tuneRuntime()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("GC percent %d with GOGC=100 set, want it left at 100", got)
	}
}
