package chunks

import (
	"runtime"
	"sync"
)

// Workers is how many goroutines share n independent items so that each
// has at least per of them: at most one per processor Go may use, and 1
// when n is below 2*per (one goroutine is cheaper than two small ones).
func Workers(n, per int) int {
	return max(1, min(runtime.GOMAXPROCS(0), n/max(per, 1)))
}

// Run calls f(chunk, lo, hi) once for each of w contiguous ranges [lo, hi)
// that together cover 0..n in order, and returns when every call has. With
// w > 1 each call runs on its own goroutine, so f must only write what
// belongs to its chunk; with w <= 1 Run calls f(0, 0, n) itself.
func Run(n, w int, f func(chunk, lo, hi int)) {
	if w <= 1 {
		f(0, 0, n)
		return
	}
	var wg sync.WaitGroup
	for i := range w {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(i, i*n/w, (i+1)*n/w)
		}()
	}
	wg.Wait()
}
