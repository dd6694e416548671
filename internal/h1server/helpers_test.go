package h1server

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// start serves h on 127.0.0.1:0 with the given server settings and
// returns the server and its address; the test's cleanup shuts it down.
func start(t testing.TB, h http.Handler, set func(*Server)) (*Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Handler: h, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if set != nil {
		set(s)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	return s, ln.Addr().String()
}

// client is a raw connection to the server under test.
type client struct {
	t  testing.TB
	nc net.Conn
	br *bufio.Reader
}

func dial(t testing.TB, addr string) *client {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	return &client{t: t, nc: nc, br: bufio.NewReader(nc)}
}

func (c *client) send(raw string) {
	c.t.Helper()
	if _, err := io.WriteString(c.nc, raw); err != nil {
		c.t.Fatal(err)
	}
}

// response reads one response (of a request with the given method) with
// its whole body.
func (c *client) response(method string) (*http.Response, string) {
	c.t.Helper()
	resp, err := http.ReadResponse(c.br, &http.Request{Method: method})
	if err != nil {
		c.t.Fatalf("reading response: %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("reading body: %v", err)
	}
	return resp, string(b)
}

// closed reports whether the server closed the connection (nothing more
// to read).
func (c *client) closed() bool {
	_, err := c.br.ReadByte()
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || isReset(err)
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && !op.Timeout()
}

// echo answers with the method, the target, the body and the request's
// trailers, and reports each request on seen.
type echo struct {
	mu   sync.Mutex
	reqs []*http.Request
}

func (e *echo) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "body: "+err.Error(), http.StatusBadRequest)
		return
	}
	e.mu.Lock()
	e.reqs = append(e.reqs, r)
	e.mu.Unlock()
	var out bytes.Buffer
	out.WriteString(r.Method + " " + r.RequestURI + " " + r.Host + "\n")
	out.Write(b)
	for k, vv := range r.Trailer {
		for _, v := range vv {
			out.WriteString("\n" + k + "=" + v)
		}
	}
	_, _ = w.Write(out.Bytes())
}

// numConns counts the connections the server tracks.
func (s *Server) numConns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// h2Ready reports whether the H2 server has been set up (see directH2).
func (s *Server) h2Ready() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.h2q != nil && s.h2q.ready.Load()
}
