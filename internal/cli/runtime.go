package cli

import (
	"os"
	"runtime/debug"
)

// defaultGCPercent is the garbage collector's target when GOGC is not set.
// A proxy's live heap is small (the routing table, connection buffers,
// stats rings) while it allocates per request, so the default of 100 runs
// collections very often for little gain; 200 halves how often they run,
// for about one more live heap of memory. It was measured with bench/run.sh
// (README, Performance).
const defaultGCPercent = 200

// tuneRuntime applies Turnout's runtime defaults unless the environment
// sets them: GOGC overrides defaultGCPercent, as does GOMEMLIMIT's usual
// meaning (it is left to the runtime).
func tuneRuntime() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(defaultGCPercent)
	}
}
