package gateway_test

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/testutil"
)

// blocking is an upstream whose requests wait until release is closed.
type blocking struct {
	*seen
	arrived chan struct{}
	release chan struct{}
	once    sync.Once
}

func newBlocking(t *testing.T) *blocking {
	b := &blocking{seen: &seen{}, arrived: make(chan struct{}, 100), release: make(chan struct{})}
	b.srv = newSeen(t, "v1").srv
	b.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.hits++
		b.mu.Unlock()
		b.arrived <- struct{}{}
		<-b.release
		_, _ = io.WriteString(w, "done")
	})
	t.Cleanup(b.unblock)
	return b
}

func (b *blocking) unblock() { b.once.Do(func() { close(b.release) }) }

const limitsYAML = `
limits:
  max_in_flight: 2
  max_header_bytes: 4KiB
upstreams:
  v1: { targets: [{{V1}}], max_connections: {{MAXCONN}} }
services:
  api:
    match: { path_prefix: / }
    default: v1
    versions: { v1: { upstream: v1 } }
`

// hold sends n requests that the upstream holds, and waits until it has
// them all. The returned channel yields their statuses once released.
func hold(t *testing.T, url string, up *blocking, n int) chan int {
	statuses := make(chan int, n)
	for i := 0; i < n; i++ {
		go func() {
			resp, err := http.Get(url)
			if err != nil {
				statuses <- 0
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	for i := 0; i < n; i++ {
		select {
		case <-up.arrived:
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of %d held requests arrived", i, n)
		}
	}
	return statuses
}

// TestMaxInFlight: beyond limits.max_in_flight requests are answered 503
// with Retry-After at once, and counted.
func TestMaxInFlight(t *testing.T) {
	up := newBlocking(t)
	tt := testutil.Start(t, limitsYAML, map[string]string{"V1": up.srv.URL, "MAXCONN": "100"})
	held := hold(t, tt.URL+"/a", up, 2)
	resp, err := http.Get(tt.URL + "/b")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "1" {
		t.Errorf("third request: %d Retry-After %q, want 503 and 1", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	up.unblock()
	for i := 0; i < 2; i++ {
		if s := <-held; s != 200 {
			t.Errorf("held request: %d", s)
		}
	}
	if got := testutil.Metric(t, tt, `turnout_limit_rejections_total{limit="in_flight"}`); got != "1" {
		t.Errorf("in_flight rejections %q, want 1", got)
	}
	if s, _, _ := testutil.Get(t, http.DefaultClient, tt.URL+"/c"); s != 200 {
		t.Errorf("after the held requests finished: %d", s)
	}
}

// TestUpstreamMaxConnections: a request finding the upstream's targets at
// max_connections is answered 503 at once and counted, and not recorded
// against the version.
func TestUpstreamMaxConnections(t *testing.T) {
	up := newBlocking(t)
	tt := testutil.Start(t, limitsYAML, map[string]string{"V1": up.srv.URL, "MAXCONN": "1"})
	held := hold(t, tt.URL+"/a", up, 1)
	if s, _, body := testutil.Get(t, http.DefaultClient, tt.URL+"/b"); s != 503 || !strings.Contains(body, "max_connections") {
		t.Errorf("second request: %d %s, want 503 naming max_connections", s, body)
	}
	up.unblock()
	if s := <-held; s != 200 {
		t.Errorf("held request: %d", s)
	}
	if got := testutil.Metric(t, tt, `turnout_limit_rejections_total{limit="upstream_connections"}`); got != "1" {
		t.Errorf("upstream_connections rejections %q, want 1", got)
	}
}

// TestMaxHeaderBytes: headers over max_header_bytes get 431 and never
// reach the upstream; all are counted with h1server, with net/http's
// server those its own margin lets through.
func TestMaxHeaderBytes(t *testing.T) {
	forEngines(t, testMaxHeaderBytes)
}

func testMaxHeaderBytes(t *testing.T, lean bool) {
	up := newSeen(t, "v1")
	tt := testutil.Start(t, limitsYAML, map[string]string{"V1": up.srv.URL, "MAXCONN": "10"})
	for _, size := range []int{5 << 10, 64 << 10} {
		s, _, _ := testutil.Get(t, http.DefaultClient, tt.URL+"/a", "X-Big: "+strings.Repeat("x", size))
		if s != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("%d-byte header: %d, want 431", size, s)
		}
	}
	if s, _, _ := testutil.Get(t, http.DefaultClient, tt.URL+"/a", "X-Small: "+strings.Repeat("x", 1000)); s != 200 {
		t.Errorf("small header: %d", s)
	}
	if up.count() != 1 {
		t.Errorf("upstream saw %d requests, want 1", up.count())
	}
	want := "1"
	if lean {
		want = "2"
	}
	if got := testutil.Metric(t, tt, `turnout_limit_rejections_total{limit="header_bytes"}`); got != want {
		t.Errorf("header_bytes rejections %q, want %s", got, want)
	}
}

// rawExchange writes req on a new connection to addr and returns the
// status line of the answer ("" when the connection closed without one).
func rawExchange(t *testing.T, addr, req string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line)
}

// TestSmuggling sends ambiguous and malformed requests over raw sockets to
// the real gateway: each gets 400 and nothing reaches the upstream. A good
// request arriving with a bad one is served by h1server (which parses one
// request at a time) and dropped by net/http's framing guard.
func TestSmuggling(t *testing.T) {
	forEngines(t, testSmuggling)
}

func testSmuggling(t *testing.T, lean bool) {
	up := newSeen(t, "v1")
	tt := testutil.Start(t, limitsYAML, map[string]string{"V1": up.srv.URL, "MAXCONN": "10"})
	addr := strings.TrimPrefix(tt.URL, "http://")
	const post = "POST /a HTTP/1.1\r\nHost: x\r\n"
	bad := map[string]string{
		"cl and te":              post + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"te and cl":              post + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
		"differing cl":           post + "Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
		"cl list":                post + "Content-Length: 3, 4\r\n\r\nabcd",
		"cl sign":                post + "Content-Length: +4\r\n\r\nabcd",
		"te identity":            post + "Transfer-Encoding: identity\r\n\r\nabcd",
		"te list":                post + "Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
		"te twice":               post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"te xchunked":            post + "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
		"te tab":                 post + "Transfer-Encoding:\tchunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
		"te vertical tab":        post + "Transfer-Encoding: \vchunked\r\n\r\n0\r\n\r\n",
		"te space before colon":  post + "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
		"te folded":              post + "Transfer-Encoding: identity\r\n chunked\r\n\r\n0\r\n\r\n",
		"te on http/1.0":         "POST /a HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"bare lf":                "GET /a HTTP/1.1\nHost: x\n\n",
		"header without colon":   "GET /a HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n",
		"space in header name":   "GET /a HTTP/1.1\r\nHost: x\r\nBad Name: 1\r\n\r\n",
		"nul in header value":    "GET /a HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n",
		"two hosts":              "GET /a HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
		"no host":                "GET /a HTTP/1.1\r\n\r\n",
		"bad request line":       "GET /a\r\nHost: x\r\n\r\n",
		"control in request uri": "GET /a\x01b HTTP/1.1\r\nHost: x\r\n\r\n",
	}
	for name, req := range bad {
		t.Run(name, func(t *testing.T) {
			if line := rawExchange(t, addr, req); !strings.HasPrefix(line, "HTTP/1.1 400 ") {
				t.Errorf("answer %q, want 400", line)
			}
		})
	}
	if n := up.count(); n != 0 {
		t.Errorf("the upstream saw %d requests, want 0", n)
	}
	// A good request, then a smuggling one on the same connection.
	want, served := []string{"HTTP/1.1 400 "}, 0
	if lean {
		want, served = []string{"HTTP/1.1 200 ", "HTTP/1.1 400 "}, 1
	}
	lines := rawExchangeN(t, addr, post+"Content-Length: 2\r\n\r\nokPOST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", len(want))
	for i := range want {
		if !strings.HasPrefix(lines[i], want[i]) {
			t.Errorf("smuggled after a body: answer %d %q, want %q", i, lines[i], want[i])
		}
	}
	if n := up.count(); n != served {
		t.Errorf("the upstream saw %d requests, want %d", n, served)
	}
	if line := rawExchange(t, addr, post+"Content-Length: 2\r\n\r\nok"); !strings.HasPrefix(line, "HTTP/1.1 200 ") {
		t.Errorf("a plain request: %q", line)
	}
	if line := rawExchange(t, addr, post+"Transfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"); !strings.HasPrefix(line, "HTTP/1.1 200 ") {
		t.Errorf("a chunked request: %q", line)
	}
	if n := up.count(); n != served+2 {
		t.Errorf("the upstream saw %d requests, want %d", n, served+2)
	}
	if got := testutil.Metric(t, tt, `turnout_limit_rejections_total{limit="framing"}`); got == "" || got == "0" {
		t.Errorf("framing rejections %q", got)
	}
}

// TestSlowHeaders: a client that never finishes its headers is cut off
// after read_header_timeout on the cleartext and the TLS listeners, and an
// idle keep-alive connection after idle_timeout.
func TestSlowHeaders(t *testing.T) {
	up := newSeen(t, "v1")
	dir := t.TempDir()
	cert, key, _ := testutil.Cert(t, dir)
	yaml := `
tls: { listen: 127.0.0.1:0, cert: ` + filepath.ToSlash(cert) + `, key: ` + filepath.ToSlash(key) + ` }
limits: { read_header_timeout: 200ms, idle_timeout: 300ms }
upstreams:
  v1: { targets: [{{V1}}] }
services:
  api:
    match: { path_prefix: / }
    default: v1
    versions: { v1: { upstream: v1 } }
`
	tt := testutil.Start(t, yaml, map[string]string{"V1": up.srv.URL})
	dials := map[string]func() (net.Conn, error){
		"cleartext": func() (net.Conn, error) { return net.Dial("tcp", tt.App.Server.Addr()) },
		"tls": func() (net.Conn, error) {
			return tls.Dial("tcp", tt.App.Server.TLSAddr(), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
		},
	}
	for name, dial := range dials {
		t.Run(name+" slow headers", func(t *testing.T) {
			c, err := dial()
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n"); err != nil {
				t.Fatal(err)
			}
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.ReadAll(c); err != nil {
				t.Fatalf("the connection was not closed by the server: %v", err)
			}
		})
		t.Run(name+" idle", func(t *testing.T) {
			c, err := dial()
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.ReadAll(br); err != nil {
				t.Fatalf("the idle connection was not closed by the server: %v", err)
			}
		})
	}
}
