package framing

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// ambiguous are requests a front end and net/http can frame differently
// (RFC 9112 sections 2.2, 5.2 and 6.1): what the guard is for.
var ambiguous = []struct{ name, raw string }{
	{"cl and te", "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 39\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"},
	{"te on http/1.0", "POST /a HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n"},
	{"te tab", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\tchunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n"},
	{"folded line", "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nX: y\r\n Transfer-Encoding: chunked\r\n\r\n"},
	{"bare lf", "POST /a HTTP/1.1\r\nHost: x\r\nX: y\nContent-Length: 0\r\n\r\n"},
	{"bare lf in chunks", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\nok\n0\n\n"},
}

// serveGuarded serves a counting handler with net/http's server on
// 127.0.0.1:0, behind the guard when guarded; it returns the address and
// the count of requests the handler saw.
func serveGuarded(t *testing.T, guarded bool) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if guarded {
		ln = Listener(ln, nil)
	}
	var seen atomic.Int64
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		seen.Add(1)
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return addr, &seen
}

// firstStatus sends raw on a new connection and returns the first
// answer's status code (0 for none).
func firstStatus(t *testing.T, addr, raw string) int {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// TestWhatTheGuardBuys shows why the package exists: net/http's server on
// its own (the admin port, and the data plane with
// TURNOUT_HTTP_SERVER=net/http) takes some ambiguously framed requests,
// which the guard refuses with 400 before a handler sees them. The day
// net/http refuses them all itself, this test fails: the guard no longer
// earns its keep and the package should go.
func TestWhatTheGuardBuys(t *testing.T) {
	bare, bareSeen := serveGuarded(t, false)
	guarded, guardedSeen := serveGuarded(t, true)
	var taken []string
	for _, tc := range ambiguous {
		if st := firstStatus(t, bare, tc.raw); st/100 == 2 {
			taken = append(taken, tc.name)
		}
		if st := firstStatus(t, guarded, tc.raw); st != http.StatusBadRequest {
			t.Errorf("%s: the guarded server answered %d, want 400", tc.name, st)
		}
	}
	if n := guardedSeen.Load(); n != 0 {
		t.Errorf("the guarded handler saw %d requests, want 0", n)
	}
	if len(taken) == 0 || bareSeen.Load() == 0 {
		t.Fatal("net/http refuses every ambiguous request by itself: the framing guard no longer buys anything; delete it")
	}
	t.Logf("net/http alone takes %d of %d: %s", len(taken), len(ambiguous), strings.Join(taken, ", "))
}
