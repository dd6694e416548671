//go:build !race

package h1server

// The memory measurement runs without the race detector, which changes
// allocation sizes and stacks; scripts/test.sh runs it on its own.

import (
	"fmt"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/testutil/wait"
)

// idleBound is the most heap and goroutine stack one idle keep-alive
// connection may hold, the client's socket in this process included.
//
// Measured (go1.26, linux/amd64): ~5 KB, of which the parked goroutine's
// stack ~2.3 KB, the server's conn, socket and timer ~1.5 KB, the test's
// client socket and cleanup ~1.2 KB. Before idle connections parked:
// ~17 KB (8 KiB of bufio buffers, a stack the handler grew, the last
// request's exchange).
const idleBound = 8 << 10

// TestIdleConnMemory opens connections that each carry one request whose
// handler runs deep in the stack (as the proxy does) and then stay idle,
// and bounds the heap in use plus the goroutine stacks per connection.
func TestIdleConnMemory(t *testing.T) {
	const warm, n = 50, 400
	body := []byte(fmt.Sprintf("%01024d", 0))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1024")
		deep(w, body, 24) // ~24 KiB of stack, like a request through the proxy
	})
	s, addr := start(t, h, nil)
	open := func(k int) {
		for i := 0; i < k; i++ {
			oneRequest(t, addr, len(body)) // the client keeps only its socket
		}
		wait.For(t, 10*time.Second, "every connection parked", func() bool { return int(s.parked.Load()) == s.numConns() })
	}
	open(warm)
	before := inUse()
	open(n)
	after := inUse()
	per := (int64(after.HeapInuse+after.StackInuse) - int64(before.HeapInuse+before.StackInuse)) / n
	t.Logf("%d B of heap and stack per idle connection (bound %d): heap %d, stack %d", per, idleBound,
		(int64(after.HeapInuse)-int64(before.HeapInuse))/n, (int64(after.StackInuse)-int64(before.StackInuse))/n)
	if per > idleBound {
		t.Errorf("an idle connection holds %d B of heap and stack, more than %d", per, idleBound)
	}
}

// oneRequest makes one request on a new connection and leaves it open
// (closed at the test's end), without the client's reader.
func oneRequest(t *testing.T, addr string, size int) {
	t.Helper()
	c := dial(t, addr)
	c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, got := c.response("GET"); resp.StatusCode != 200 || len(got) != size {
		t.Fatalf("status %d, %d bytes", resp.StatusCode, len(got))
	}
	c.br = nil
}

// deep writes body from depth frames down, each with 1 KiB of stack.
//
//go:noinline
func deep(w http.ResponseWriter, body []byte, depth int) {
	var pad [1024]byte
	if depth > 0 {
		deep(w, body, depth-1)
		return
	}
	copy(pad[:], body)
	_, _ = w.Write(pad[:len(body)])
}

// inUse reads the memory statistics after two collections: the second
// frees what the first left in the pools' victim caches.
func inUse() runtime.MemStats {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m
}
