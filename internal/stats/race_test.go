//go:build race

package stats

// The race detector slows the heap measurement down tenfold.
func init() { raceEnabled = true }
