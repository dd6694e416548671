package h1server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/turnout-gw/turnout/internal/testutil/wait"
)

var timeZero time.Time

// TestSlowClients: a head that does not complete within the read-header
// timeout, and a connection idle past the idle timeout, are closed.
func TestSlowClients(t *testing.T) {
	_, addr := start(t, &echo{}, func(s *Server) {
		s.ReadHeaderTimeout = 100 * time.Millisecond
		s.IdleTimeout = 100 * time.Millisecond
	})
	slow := dial(t, addr)
	slow.send("GET / HTTP/1.1\r\nHost: x\r\n")
	if !slow.closed() {
		t.Error("an incomplete head kept the connection open")
	}
	silent := dial(t, addr)
	if !silent.closed() {
		t.Error("a connection that never sent a byte kept open")
	}
	idle := dial(t, addr)
	idle.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	idle.response("GET")
	if !idle.closed() {
		t.Error("an idle connection kept open")
	}
}

// TestPanics: http.ErrAbortHandler ends the connection without an answer
// or a log line; another panic is logged; the server goes on serving.
func TestPanics(t *testing.T) {
	var logs bytes.Buffer
	var mu sync.Mutex
	_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/abort":
			w.Header().Set("Content-Length", "10")
			io.WriteString(w, "part")
			panic(http.ErrAbortHandler)
		case "/boom":
			panic("boom")
		}
		io.WriteString(w, "ok")
	}), func(s *Server) {
		s.Log = slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))
	})
	for _, path := range []string{"/abort", "/boom"} {
		c := dial(t, addr)
		c.send("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n")
		b, _ := io.ReadAll(c.br)
		if resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(b)), nil); err == nil {
			if body, err := io.ReadAll(resp.Body); err == nil {
				t.Errorf("%s: a complete answer %d %q", path, resp.StatusCode, body)
			}
		}
	}
	c := dial(t, addr)
	c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if _, body := c.response("GET"); body != "ok" {
		t.Errorf("after the panics: %q", body)
	}
	mu.Lock()
	defer mu.Unlock()
	if n := strings.Count(logs.String(), "panic serving request"); n != 1 || !strings.Contains(logs.String(), "boom") {
		t.Errorf("%d panic lines: %s", n, logs.String())
	}
}

// TestContextEnds: the request's context is cancelled once the handler
// has returned.
func TestContextEnds(t *testing.T) {
	ctxs := make(chan context.Context, 1)
	_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Context().Err() != nil || r.Context().Value(http.LocalAddrContextKey) == nil {
			t.Error("context ended or without the local address")
		}
		ctxs <- r.Context()
	}), nil)
	c := dial(t, addr)
	c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	c.response("GET")
	<-(<-ctxs).Done()
}

// TestShutdown: Shutdown closes idle connections at once, lets the
// request in flight finish with Connection: close, then returns.
func TestShutdown(t *testing.T) {
	release, entered := make(chan struct{}), make(chan struct{})
	s, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		io.WriteString(w, "finished")
	}), nil)
	idle := dial(t, addr)
	busy := dial(t, addr)
	busy.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	<-entered
	done := make(chan error, 1)
	go func() { done <- s.Shutdown(context.Background()) }()
	if !idle.closed() {
		t.Error("idle connection not closed by Shutdown")
	}
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned (%v) with a request in flight", err)
	default:
	}
	close(release)
	resp, body := busy.response("GET")
	if body != "finished" || !resp.Close {
		t.Errorf("in-flight answer %q close %v", body, resp.Close)
	}
	if err := <-done; err != nil {
		t.Error(err)
	}
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Error("still accepting after Shutdown")
	}
}

// TestH2C: a connection opening with the HTTP/2 preface is served by the
// H2 server, and HTTP/1.1 on the same port by h1server.
func TestH2C(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.Proto) })
	h2 := &http.Server{Handler: h, Protocols: new(http.Protocols)}
	h2.Protocols.SetUnencryptedHTTP2(true)
	_, addr := start(t, h, func(s *Server) { s.H2 = h2 })
	tr := &http2.Transport{AllowHTTP: true, DialTLSContext: func(ctx context.Context, network, a string, _ *tls.Config) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, a)
	}}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "HTTP/2.0" {
		t.Errorf("h2c answered by %q", b)
	}
	c := dial(t, addr)
	c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if _, body := c.response("GET"); body != "HTTP/1.1" {
		t.Errorf("HTTP/1.1 answered by %q", body)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestTLS: HTTP/1.1 under TLS is served with r.TLS set; a client that
// negotiates h2 is handed to the H2 server.
func TestTLS(t *testing.T) {
	ts := httptest.NewUnstartedServer(nil)
	ts.StartTLS()
	cert, client := ts.TLS.Certificates, ts.Client()
	ts.Close()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, fmt.Sprint(r.Proto, " ", r.TLS != nil))
	})
	h2 := &http.Server{Handler: h, Protocols: new(http.Protocols)}
	h2.Protocols.SetHTTP2(true)
	_, addr := start(t, h, func(s *Server) {
		s.TLSConfig = &tls.Config{Certificates: cert, NextProtos: []string{"h2", "http/1.1"}}
		s.H2 = h2
	})
	for _, tc := range []struct {
		h2   bool
		want string
	}{{false, "HTTP/1.1 true"}, {true, "HTTP/2.0 true"}} {
		tr := client.Transport.(*http.Transport).Clone()
		tr.ForceAttemptHTTP2 = tc.h2
		if !tc.h2 {
			tr.TLSClientConfig.NextProtos = []string{"http/1.1"}
		}
		resp, err := (&http.Client{Transport: tr}).Get("https://" + addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		tr.CloseIdleConnections()
		if string(b) != tc.want {
			t.Errorf("got %q, want %q", b, tc.want)
		}
	}
}

// TestRefusedHook: the server reports its own refusals with their status
// and kind.
func TestRefusedHook(t *testing.T) {
	type refusal struct {
		code   int
		reason Reason
	}
	got := make(chan refusal, 1)
	_, addr := start(t, &echo{}, func(s *Server) {
		s.MaxHeaderBytes = 512
		s.Refused = func(code int, reason Reason, _ string) { got <- refusal{code, reason} }
	})
	for _, tc := range []struct {
		raw  string
		want refusal
	}{
		{"GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n", refusal{400, ReasonMalformed}},
		{"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", refusal{400, ReasonFraming}},
		{"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", refusal{400, ReasonFraming}},
		{"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", refusal{400, ReasonFraming}},
		{"GET / HTTP/1.1\r\nHost: x\r\nX: " + strings.Repeat("a", 600) + "\r\n\r\n", refusal{431, ReasonHeaderTooLarge}},
		{"GET / HTTP/1.1\r\nHost: x\r\nExpect: magic\r\n\r\n", refusal{417, ReasonExpectation}},
		{"GET / HTTP/1.2\r\nHost: x\r\n\r\n", refusal{505, ReasonVersion}},
	} {
		c := dial(t, addr)
		c.send(tc.raw)
		c.response("GET")
		if r := <-got; r != tc.want {
			t.Errorf("%q: reported %d %v, want %d %v", tc.raw, r.code, r.reason, tc.want.code, tc.want.reason)
		}
	}
}

// TestClientGone: a client that closes its connection while the handler
// waits has the request's context cancelled; one that sends its next
// request meanwhile is served in order, the watcher's byte included.
func TestClientGone(t *testing.T) {
	cancelled := make(chan bool, 1)
	release := make(chan struct{})
	_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/wait":
			select {
			case <-r.Context().Done():
				cancelled <- true
			case <-time.After(10 * time.Second):
				cancelled <- false
			}
		case "/slow": // runs until the watcher has taken the next request's byte
			select {
			case <-release:
			case <-time.After(10 * time.Second):
			}
			io.WriteString(w, "slow")
		default:
			io.WriteString(w, r.URL.Path)
		}
	}), func(s *Server) { s.ClientGoneAfter = 20 * time.Millisecond })
	watching := wait.GoroutineIn("runtime_pollWait", "h1server.(*conn).fire")
	c := dial(t, addr)
	c.send("GET /wait HTTP/1.1\r\nHost: x\r\n\r\n")
	wait.For(t, 10*time.Second, "the watcher reading", watching)
	c.nc.Close()
	if !<-cancelled {
		t.Error("the context was not cancelled when the client went away")
	}
	c = dial(t, addr)
	c.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	wait.For(t, 10*time.Second, "the watcher reading", watching)
	c.send("GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
	wait.For(t, 10*time.Second, "the watcher to take a byte", func() bool { return !watching() })
	close(release)
	for _, want := range []string{"slow", "/next"} {
		if _, body := c.response("GET"); body != want {
			t.Errorf("got %q, want %q", body, want)
		}
	}
}
