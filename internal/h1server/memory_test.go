//go:build !race

package h1server

// The memory measurement runs without the race detector, which changes
// allocation sizes and stacks; scripts/test.sh runs this package without
// -race too.

import (
	"bytes"
	"fmt"
	"net/http"
	"runtime"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/turnout-gw/turnout/internal/testutil/wait"
)

// idleBound is the most heap and goroutine stack one idle keep-alive
// connection may hold, the client's socket in this process included.
//
// Measured (go1.26, linux/amd64): ~3.1 KB, no stack (the connection waits
// in the poller): the server's conn, socket and idle timer, the test's
// client socket and cleanup. Parked in a goroutine instead: ~5 KB. Before
// idle connections parked: ~17.7 KB (8 KiB of bufio buffers, a stack the
// handler grew, the last request's exchange).
const idleBound = 6 << 10

// h2IdleBound is the same for an idle h2c connection, which net/http's
// HTTP/2 server serves.
//
// Measured: ~22 KB (two goroutines' stacks ~12 KiB, the server
// connection's state, hpack tables and framer ~7 KB); before they were
// served without net/http's per-connection state: ~32 KB (its 4 KiB reader
// and writer, held for the connection's life).
const h2IdleBound = 26 << 10

// TestIdleConnMemory opens connections that each carry one request whose
// handler runs deep in the stack (as the proxy does) and then stay idle,
// and bounds the heap in use plus the goroutine stacks per connection.
func TestIdleConnMemory(t *testing.T) {
	body := []byte(fmt.Sprintf("%01024d", 0))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1024")
		deep(w, body, 24) // ~24 KiB of stack, like a request through the proxy
	})
	t.Run("h1", func(t *testing.T) {
		s, addr := start(t, h, nil)
		perConn(t, idleBound, func(k int) {
			for i := 0; i < k; i++ {
				oneRequest(t, addr, len(body)) // the client keeps only its socket
			}
			wait.For(t, 10*time.Second, "every connection parked", func() bool { return int(s.parked.Load()) == s.numConns() })
		})
	})
	t.Run("h2c", func(t *testing.T) {
		h2 := &http.Server{Handler: h, Protocols: new(http.Protocols), IdleTimeout: time.Minute}
		h2.Protocols.SetUnencryptedHTTP2(true)
		s, addr := start(t, h, func(s *Server) { s.H2 = h2 })
		wait.For(t, 10*time.Second, "the HTTP/2 server set up", func() bool { return s.h2Ready() })
		perConn(t, h2IdleBound, func(k int) {
			for i := 0; i < k; i++ {
				oneH2Request(t, addr, len(body))
			}
			wait.For(t, 10*time.Second, "every handler returned", func() bool { return !wait.GoroutineIn("runHandler")() })
		})
	})
}

// perConn opens warm connections with open, then 400 more, and bounds
// the heap and stack they added per connection.
func perConn(t *testing.T, bound int64, open func(k int)) {
	const warm, n = 50, 400
	// Connections of earlier tests that still end would free their memory
	// during the measurement.
	wait.For(t, 10*time.Second, "earlier connections gone", func() bool {
		return !wait.GoroutineIn("h1server.(*conn)")() && !wait.GoroutineIn("http2serverConn")()
	})
	open(warm)
	before := inUse()
	open(n)
	after := inUse()
	per := (int64(after.HeapInuse+after.StackInuse) - int64(before.HeapInuse+before.StackInuse)) / n
	t.Logf("%d B of heap and stack per idle connection (bound %d): heap %d, stack %d", per, bound,
		(int64(after.HeapInuse)-int64(before.HeapInuse))/n, (int64(after.StackInuse)-int64(before.StackInuse))/n)
	if per > bound {
		t.Errorf("an idle connection holds %d B of heap and stack, more than %d", per, bound)
	}
}

// oneH2Request opens an h2c connection, makes one GET on it, and leaves it
// open (closed at the test's end), keeping only the socket.
func oneH2Request(t *testing.T, addr string, size int) {
	t.Helper()
	c := dial(t, addr)
	c.send(http2.ClientPreface)
	fr := http2.NewFramer(c.nc, c.br)
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", "x"}, {":path", "/"}} {
		_ = enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndStream: true, EndHeaders: true}); err != nil {
		t.Fatal(err)
	}
	got := 0
	for i := 0; i < 32; i++ {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				_ = fr.WriteSettingsAck()
			}
		case *http2.DataFrame:
			got += len(f.Data())
			if f.StreamEnded() {
				if got != size {
					t.Fatalf("%d bytes, want %d", got, size)
				}
				c.br = nil
				return
			}
		}
	}
	t.Fatal("no end of stream")
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
