package h1server

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/testutil/wait"
)

// TestPark: a kept-alive connection quiet for parkAfter parks (no buffers,
// a new goroutine) and serves what comes next, pipelined requests
// included, in plain TCP (waiting in the poller) and under TLS (waiting by
// reading one byte); it parks again after; its idle timeout still closes
// it; Shutdown closes it.
func TestPark(t *testing.T) {
	ts := httptest.NewUnstartedServer(nil)
	ts.StartTLS()
	cert := ts.TLS.Certificates
	ts.Close()
	for _, useTLS := range []bool{false, true} {
		name := map[bool]string{false: "plain", true: "tls"}[useTLS]
		t.Run(name, func(t *testing.T) {
			s, addr := start(t, &echo{}, func(s *Server) {
				if useTLS {
					s.TLSConfig = &tls.Config{Certificates: cert}
				}
			})
			connect := func() *client {
				c := dial(t, addr)
				if useTLS {
					tc := tls.Client(c.nc, &tls.Config{InsecureSkipVerify: true})
					c.nc, c.br = tc, bufio.NewReader(tc)
				}
				return c
			}
			parked := func(n int64) {
				t.Helper()
				wait.For(t, 5*time.Second, "parked connections", func() bool { return s.parked.Load() == n })
			}
			c := connect()
			c.send("GET /one HTTP/1.1\r\nHost: x\r\n\r\n")
			if _, body := c.response("GET"); body != "GET /one x\n" {
				t.Fatalf("first answer %q", body)
			}
			parked(1)
			waiting := wait.GoroutineIn("h1server.(*conn).awaitReadable")
			if useTLS {
				// parked counts the connection before its goroutine runs.
				wait.For(t, 5*time.Second, "a goroutine waiting for the parked TLS connection", waiting)
			} else if waiting() {
				t.Error("a goroutine waits for a parked plain connection; want it in the poller")
			}
			c.send("POST /two HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /three HTTP/1.1\r\nHost: x\r\n\r\n")
			if _, body := c.response("POST"); body != "POST /two x\nabc" {
				t.Errorf("answer after parking %q", body)
			}
			if _, body := c.response("GET"); body != "GET /three x\n" {
				t.Errorf("pipelined answer after parking %q", body)
			}
			parked(1) // again

			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := s.Shutdown(ctx); err != nil {
				t.Errorf("shutdown with a parked connection: %v", err)
			}
			if !c.closed() {
				t.Error("a parked connection outlived Shutdown")
			}
			parked(0)
		})
	}
}

// TestParkClose: Close closes a parked connection and forgets it.
func TestParkClose(t *testing.T) {
	s, addr := start(t, &echo{}, nil)
	c := dial(t, addr)
	c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	c.response("GET")
	wait.For(t, 5*time.Second, "the connection parked", func() bool { return s.parked.Load() == 1 })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if !c.closed() {
		t.Error("a parked connection outlived Close")
	}
	if n, p := s.numConns(), s.parked.Load(); n != 0 || p != 0 {
		t.Errorf("%d connections, %d parked after Close", n, p)
	}
}

// TestParkIdleTimeout: a parked connection is closed when its idle timeout
// (counted from the end of the last answer, not from parking) ends.
func TestParkIdleTimeout(t *testing.T) {
	s, addr := start(t, &echo{}, func(s *Server) { s.IdleTimeout = parkAfter + 300*time.Millisecond })
	c := dial(t, addr)
	c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	c.response("GET")
	wait.For(t, 5*time.Second, "the connection parked", func() bool { return s.parked.Load() == 1 })
	if !c.closed() {
		t.Fatal("a parked connection outlived its idle timeout")
	}
	wait.For(t, 5*time.Second, "the connection gone", func() bool { return s.parked.Load() == 0 && s.numConns() == 0 })
}

// TestParkHandlerReadsNothing: a handler that does not read its body
// leaves the connection as before: the unread body is drained, the
// connection parks, and the next request is read from its own first byte.
func TestParkHandlerReadsNothing(t *testing.T) {
	s, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.URL.Path)
	}), nil)
	c := dial(t, addr)
	c.send("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
	if _, body := c.response("POST"); body != "/a" {
		t.Fatalf("answer %q", body)
	}
	wait.For(t, 5*time.Second, "the connection parked", func() bool { return s.parked.Load() == 1 })
	c.send("GET /b HTTP/1.1\r\nHost: x\r\n\r\n")
	if _, body := c.response("GET"); body != "/b" {
		t.Errorf("answer after parking %q", body)
	}
}
