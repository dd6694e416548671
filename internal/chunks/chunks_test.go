package chunks

import (
	"runtime"
	"slices"
	"testing"
)

// TestRunCoversEveryItemOnce: the chunks cover 0..n in order, each item
// once, whatever the number of workers.
func TestRunCoversEveryItemOnce(t *testing.T) {
	for _, tc := range []struct{ n, w int }{{0, 1}, {1, 1}, {10, 1}, {10, 3}, {1000, 2}, {7, 7}, {5, 0}} {
		seen := make([]int, tc.n)
		chunkOf := make([]int, tc.n)
		calls := make([]bool, max(tc.w, 1))
		Run(tc.n, tc.w, func(chunk, lo, hi int) {
			calls[chunk] = true
			for i := lo; i < hi; i++ {
				seen[i]++
				chunkOf[i] = chunk
			}
		})
		if slices.ContainsFunc(seen, func(c int) bool { return c != 1 }) {
			t.Errorf("n=%d w=%d: items seen %v, want each once", tc.n, tc.w, seen)
		}
		if !slices.IsSorted(chunkOf) || slices.Contains(calls, false) {
			t.Errorf("n=%d w=%d: chunks %v, calls %v; want contiguous chunks in order, each called", tc.n, tc.w, chunkOf, calls)
		}
	}
}

// TestWorkers: one worker per processor at most, each with at least per
// items.
func TestWorkers(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	for _, tc := range []struct{ n, per, want int }{{0, 10, 1}, {19, 10, 1}, {20, 10, 2}, {35, 10, 3}, {1000, 10, 4}, {5, 0, 4}} {
		if got := Workers(tc.n, tc.per); got != tc.want {
			t.Errorf("Workers(%d, %d) = %d, want %d", tc.n, tc.per, got, tc.want)
		}
	}
}
