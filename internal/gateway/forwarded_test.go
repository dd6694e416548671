package gateway_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/gateway"
	"github.com/turnout-gw/turnout/internal/testutil"
)

const forwardYAML = `
upstreams:
  v1: { targets: [{{V1}}] }
services:
  api:
    match: { path_prefix: / }
    default: v1
    versions: { v1: { upstream: v1 } }
`

// headerUpstream records the header of every request it gets.
type headerUpstream struct {
	srv  *httptest.Server
	mu   sync.Mutex
	seen []http.Header
}

func newHeaderUpstream(t *testing.T) *headerUpstream {
	u := &headerUpstream{}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		u.mu.Lock()
		u.seen = append(u.seen, r.Header.Clone())
		u.mu.Unlock()
		_, _ = io.WriteString(w, "ok\n")
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *headerUpstream) headers() []http.Header {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]http.Header(nil), u.seen...)
}

// eachEngine runs f against a Turnout in front of a header-recording
// upstream, on both HTTP/1 engines.
func eachEngine(t *testing.T, f func(t *testing.T, tt *testutil.Turnout, up *headerUpstream)) {
	for _, engine := range []string{"", gateway.EngineNetHTTP} {
		t.Run("engine="+engine, func(t *testing.T) {
			t.Setenv(gateway.EngineEnv, engine)
			up := newHeaderUpstream(t)
			f(t, testutil.Start(t, forwardYAML, map[string]string{"V1": up.srv.URL}), up)
		})
	}
}

// exchangeRaw writes req on a new connection and reads one answer.
func exchangeRaw(t *testing.T, addr, req string) (*http.Response, string) {
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
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestUnderscoreHeadersNotForwarded: X_Forwarded_For (which CGI-style
// servers read as X-Forwarded-For) and other names with underscores never
// reach the upstream; the X-Forwarded-For it gets is Turnout's.
func TestUnderscoreHeadersNotForwarded(t *testing.T) {
	eachEngine(t, func(t *testing.T, tt *testutil.Turnout, up *headerUpstream) {
		resp, _ := exchangeRaw(t, tt.App.Server.Addr(), "GET /x HTTP/1.1\r\nHost: t\r\nX_Forwarded_For: 6.6.6.6\r\n"+
			"X_Turnout_Colour: blue\r\nX-Fine: yes\r\nConnection: close\r\n\r\n")
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		seen := up.headers()
		if len(seen) != 1 {
			t.Fatalf("upstream saw %d requests", len(seen))
		}
		for k, v := range seen[0] {
			if strings.Contains(k, "_") || strings.Contains(strings.Join(v, ","), "6.6.6.6") {
				t.Errorf("forwarded %s: %q", k, v)
			}
		}
		if seen[0].Get("X-Fine") != "yes" || seen[0].Get("X-Forwarded-For") != "127.0.0.1" {
			t.Errorf("upstream header %v", seen[0])
		}
	})
}

// TestConnectRefused: CONNECT is answered 405 by Turnout and never reaches
// an upstream.
func TestConnectRefused(t *testing.T) {
	eachEngine(t, func(t *testing.T, tt *testutil.Turnout, up *headerUpstream) {
		resp, body := exchangeRaw(t, tt.App.Server.Addr(), "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
		if resp.StatusCode != http.StatusMethodNotAllowed || !strings.Contains(body, "CONNECT") {
			t.Errorf("CONNECT: %d %s", resp.StatusCode, body)
		}
		if n := len(up.headers()); n != 0 {
			t.Errorf("upstream saw %d requests", n)
		}
	})
}

// TestExpectContinueAnsweredByTurnout: a request with Expect:
// 100-continue gets its 100 Continue from Turnout, before it sends its
// body, and the upstream never sees the Expect header (an upstream that
// does not answer 100 would cost a second per request).
func TestExpectContinueAnsweredByTurnout(t *testing.T) {
	eachEngine(t, func(t *testing.T, tt *testutil.Turnout, up *headerUpstream) {
		c, err := net.Dial("tcp", tt.App.Server.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		_, _ = io.WriteString(c, "POST /x HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
		br := bufio.NewReader(c)
		line, err := br.ReadString('\n')
		if err != nil || line != "HTTP/1.1 100 Continue\r\n" {
			t.Fatalf("first answer line %q, %v; want 100 Continue before the body", line, err)
		}
		if blank, _ := br.ReadString('\n'); blank != "\r\n" {
			t.Fatalf("after 100 Continue: %q", blank)
		}
		_, _ = io.WriteString(c, "hello")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		seen := up.headers()
		if resp.StatusCode != 200 || len(seen) != 1 {
			t.Fatalf("status %d, upstream saw %d requests", resp.StatusCode, len(seen))
		}
		if v, ok := seen[0]["Expect"]; ok {
			t.Errorf("upstream got Expect: %q", v)
		}
	})
}

// TestWriteTimeoutCutsOffReaderThatStops: a client that asks for a large
// answer and never reads it is cut off after limits.write_timeout without
// progress, and counted, on both HTTP/1 engines.
func TestWriteTimeoutCutsOffReaderThatStops(t *testing.T) {
	for _, engine := range []string{"", gateway.EngineNetHTTP} {
		t.Run("engine="+engine, func(t *testing.T) {
			t.Setenv(gateway.EngineEnv, engine)
			chunk := make([]byte, 32<<10)
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for range 2048 { // 64 MiB, more than any socket buffers
					if _, err := w.Write(chunk); err != nil {
						return
					}
				}
			}))
			t.Cleanup(up.Close)
			tt := testutil.Start(t, "limits: { write_timeout: 200ms }\n"+forwardYAML, map[string]string{"V1": up.URL})
			c, err := net.Dial("tcp", tt.App.Server.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_, _ = io.WriteString(c, "GET /big HTTP/1.1\r\nHost: t\r\n\r\n")
			testutil.Eventually(t, 10*time.Second, "the write timeout", func() bool {
				return testutil.Metric(t, tt, `turnout_limit_rejections_total{limit="write_timeout"}`) == "1"
			})
		})
	}
}
