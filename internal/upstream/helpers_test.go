package upstream

import (
	"encoding/pem"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/config"

	"github.com/turnout-gw/turnout/internal/testutil/testclock"
	"github.com/turnout-gw/turnout/internal/testutil/wait"
)

// quiet is a logger that discards everything.
var quiet = slog.New(slog.DiscardHandler)

// upstreamSpec returns a minimal pool spec.
func upstreamSpec(protocol string, targets ...string) *config.Upstream {
	return &config.Upstream{Name: "test", Protocol: protocol, Targets: targets}
}

// mustPool builds a pool and closes it at the end of the test.
func mustPool(t *testing.T, spec *config.Upstream, opts ...Option) *Pool {
	t.Helper()
	p, err := New(spec, append([]Option{WithLogger(quiet)}, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(p.Close)
	return p
}

// newReq returns a client request for path; RoundTrip fills in the target.
func newReq(t *testing.T, method, path string) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, "http://upstream.invalid"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// send round-trips req through p and returns status and body.
func send(p *Pool, req *http.Request) (int, string, error) {
	resp, err := p.RoundTrip(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// mustGet sends GET path and fails the test on error.
func mustGet(t *testing.T, p *Pool, path string) string {
	t.Helper()
	code, body, err := send(p, newReq(t, http.MethodGet, path))
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	if code != http.StatusOK {
		t.Fatalf("GET %s: status %d", path, code)
	}
	return body
}

// countingServer answers 200 with name and counts the non-health requests.
func countingServer(t *testing.T, name string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			n.Add(1)
		}
		_, _ = io.WriteString(w, name)
	}))
	t.Cleanup(s.Close)
	return s, &n
}

// h2cServer starts a server speaking HTTP/1.1 and cleartext HTTP/2.
func h2cServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	s := httptest.NewUnstartedServer(h)
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	s.Config.Protocols = &p
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// tlsServer starts an HTTPS server (h2 by ALPN when http2 is set) and writes
// its certificate to a PEM file whose path it returns.
func tlsServer(t *testing.T, h http.Handler, http2 bool) (*httptest.Server, string) {
	t.Helper()
	s := httptest.NewUnstartedServer(h)
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // rejected handshakes are expected
	s.EnableHTTP2 = http2
	s.StartTLS()
	t.Cleanup(s.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})
	if err := os.WriteFile(ca, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return s, ca
}

// protoHandler records the request's ProtoMajor and answers 200.
func protoHandler(major *atomic.Int32) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		major.Store(int32(r.ProtoMajor))
		_, _ = io.WriteString(w, r.Proto)
	})
}

// deadAddr returns a loopback address whose port refuses connections.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// eventually is wait.For, the shared bounded wait.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	wait.For(t, d, what, cond)
}

// newFakeClock is a settable clock for WithClock.
func newFakeClock() *testclock.Clock {
	return testclock.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
}

// statusOf returns the status of the target with URL u.
func statusOf(t *testing.T, p *Pool, u string) TargetStatus {
	t.Helper()
	for _, s := range p.Status() {
		if s.URL == u {
			return s
		}
	}
	t.Fatalf("no target %s in %+v", u, p.Status())
	return TargetStatus{}
}
