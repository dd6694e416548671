package proxy_test

// Small request bodies are read whole before any upstream is chosen
// (limits.fallback_body): real clients on raw connections, a real
// upstream counting what reaches it, both HTTP/1 engines.

import (
	"bufio"
	"fmt"
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
	"github.com/turnout-gw/turnout/internal/testutil/testclock"
)

const prereadYAML = `
limits: { request_body_timeout: 10s }
upstreams:
  up: { targets: [{{UP}}], max_connections: 50 }
services:
  svc:
    match: { path_prefix: / }
    default: v1
    versions:
      v1: { upstream: up }
`

// counting is an upstream that counts the requests reaching it by path
// (as its handler starts) and answers 200 with the body's length,
// framing and trailer.
type counting struct {
	srv    *httptest.Server
	mu     sync.Mutex
	n      map[string]int
	starts chan string // each request's path as its handler starts
}

func newCounting(t *testing.T) *counting {
	u := &counting{n: map[string]int{}, starts: make(chan string, 256)}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.n[r.URL.Path]++
		u.mu.Unlock()
		select {
		case u.starts <- r.URL.Path:
		default:
		}
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		fmt.Fprintf(w, "%d cl=%d te=%v trailer=%s", len(b), r.ContentLength, r.TransferEncoding, r.Trailer.Get("X-Sum"))
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *counting) count(path string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.n[path]
}

// eachEngine runs test under both HTTP/1 engines.
func eachEngine(t *testing.T, test func(t *testing.T)) {
	for _, engine := range []string{"", gateway.EngineNetHTTP} {
		t.Run("engine="+engine, func(t *testing.T) {
			t.Setenv(gateway.EngineEnv, engine)
			test(t)
		})
	}
}

// rawConn is a client on a raw connection, with a deadline on everything.
type rawConn struct {
	net.Conn
	br *bufio.Reader
}

func dialRaw(t *testing.T, url string) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	return &rawConn{Conn: c, br: bufio.NewReader(c)}
}

// status reads the next answer's status (0 when none came).
func (c *rawConn) status() int {
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode
}

// TestE2EPrereadClientFaultsNeverReachUpstream: an upload cut short, bad
// chunk framing arriving after the head (once the gateway has begun to
// read the body: it answered 100 Continue), and a client leaving
// mid-body are answered 400 (or nothing) and none of them reaches the
// upstream, which a good request afterwards does.
func TestE2EPrereadClientFaultsNeverReachUpstream(t *testing.T) {
	eachEngine(t, func(t *testing.T) {
		up := newCounting(t)
		tt := testutil.Start(t, prereadYAML, map[string]string{"UP": up.srv.URL})
		const head = "POST /hostile HTTP/1.1\r\nHost: t\r\n"
		kinds := []struct {
			name string
			want int
			send func(c *rawConn) bool // false: no answer to read
		}{
			{"aborted-upload", 400, func(c *rawConn) bool {
				_, _ = io.WriteString(c, head+"Content-Length: 1000\r\n\r\n0123456789")
				_ = c.Conn.(*net.TCPConn).CloseWrite()
				return true
			}},
			{"bad-chunks-after-head", 400, func(c *rawConn) bool {
				_, _ = io.WriteString(c, head+"Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n5\r\nhello\r\n")
				if got := c.status(); got != http.StatusContinue {
					t.Errorf("first answer %d, want 100 Continue", got)
				}
				_, _ = io.WriteString(c, "zz\r\nhello\r\n0\r\n\r\n")
				return true
			}},
			{"client-gone", 0, func(c *rawConn) bool {
				_, _ = io.WriteString(c, head+"Content-Length: 1000\r\nExpect: 100-continue\r\n\r\n")
				if got := c.status(); got != http.StatusContinue {
					t.Errorf("first answer %d, want 100 Continue", got)
				}
				_, _ = io.WriteString(c, "0123456789")
				_ = c.Close()
				return false
			}},
		}
		for _, k := range kinds {
			for i := range 5 {
				c := dialRaw(t, tt.URL)
				if k.send(c) {
					if got := c.status(); got != k.want {
						t.Errorf("%s %d: status %d, want %d", k.name, i, got, k.want)
					}
				}
			}
		}
		resp, err := http.Post(tt.URL+"/good", "text/plain", strings.NewReader("fine"))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || up.count("/good") != 1 {
			t.Fatalf("good request: %d, upstream saw it %d times", resp.StatusCode, up.count("/good"))
		}
		if n := up.count("/hostile"); n != 0 {
			t.Errorf("%d of 15 broken requests reached the upstream; want none", n)
		}
	})
}

// TestE2EPrereadSlowClientsHoldNoSlots: 60 clients sending a 10-byte body
// one byte at a time, against an upstream of max_connections 50. While
// they send, none of them holds an upstream connection: the upstream has
// seen none of them and legitimate requests get 200, not 503. Then the
// slow clients finish one after another and each is answered 200.
func TestE2EPrereadSlowClientsHoldNoSlots(t *testing.T) {
	eachEngine(t, func(t *testing.T) {
		up := newCounting(t)
		tt := testutil.Start(t, prereadYAML, map[string]string{"UP": up.srv.URL})
		const slow, size = 60, 10
		codes := map[int]int{}
		var waiting []*rawConn
		for range slow {
			c := dialRaw(t, tt.URL)
			_, _ = fmt.Fprintf(c, "POST /slow HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n", size)
			// 100 Continue: the gateway has the head and reads the body.
			if got := c.status(); got != http.StatusContinue {
				codes[got]++
				continue
			}
			_, _ = io.WriteString(c, "x")
			waiting = append(waiting, c)
		}
		legit := map[int]int{}
		for range 10 {
			resp, err := http.Post(tt.URL+"/legit", "application/json", strings.NewReader(`{"ok":true}`))
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			legit[resp.StatusCode]++
		}
		seen := up.count("/slow")
		tick := time.NewTicker(5 * time.Millisecond) // the clients' pace
		defer tick.Stop()
		for range size - 2 {
			<-tick.C
			for _, c := range waiting {
				_, _ = io.WriteString(c, "x")
			}
		}
		for _, c := range waiting { // the last bytes one client after another
			_, _ = io.WriteString(c, "x")
			codes[c.status()]++
		}
		t.Logf("%d slow clients, max_connections 50: legitimate requests %v, slow clients %v", slow, legit, codes)
		if legit[200] != 10 {
			t.Errorf("legitimate requests during the slow clients got %v; want 10×200", legit)
		}
		if seen != 0 {
			t.Errorf("the upstream saw %d slow requests before their bodies were in; want none", seen)
		}
		if codes[200] != slow {
			t.Errorf("slow clients got %v; want %d×200", codes, slow)
		}
	})
}

// TestE2EPrereadLargeBodiesStream: a body over the bound (1 KiB here),
// declared or chunked, reaches the upstream while the client is still
// sending it and arrives whole; a small chunked body is sent on with a
// Content-Length, one that declares trailers keeps its chunked framing
// and its trailer.
func TestE2EPrereadLargeBodiesStream(t *testing.T) {
	eachEngine(t, func(t *testing.T) {
		up := newCounting(t)
		tt := testutil.Start(t, strings.Replace(prereadYAML, "request_body_timeout: 10s", "fallback_body: 1KiB", 1),
			map[string]string{"UP": up.srv.URL})
		part := strings.Repeat("a", 2048)
		for _, tc := range []struct {
			name, head, first, rest, want string
		}{
			{"declared", "Content-Length: 4096\r\n", part, part, "4096 cl=4096 te=[] trailer="},
			{"chunked", "Transfer-Encoding: chunked\r\n", "800\r\n" + part + "\r\n", "800\r\n" + part + "\r\n0\r\n\r\n",
				"4096 cl=-1 te=[chunked] trailer="},
		} {
			c := dialRaw(t, tt.URL)
			_, _ = io.WriteString(c, "POST /large HTTP/1.1\r\nHost: t\r\n"+tc.head+"\r\n"+tc.first)
			select {
			case <-up.starts: // it streams: the upstream has it before its end
			case <-time.After(10 * time.Second):
				t.Fatalf("%s: the upstream never saw the request before its body was whole", tc.name)
			}
			_, _ = io.WriteString(c, tc.rest)
			resp, err := http.ReadResponse(c.br, nil)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(b) != tc.want {
				t.Errorf("%s: %d %q, want 200 %q", tc.name, resp.StatusCode, b, tc.want)
			}
		}
		for _, tc := range []struct{ name, req, want string }{
			{"small chunked", "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", "5 cl=5 te=[] trailer="},
			{"empty chunked", "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "0 cl=0 te=[] trailer="},
			{"trailers", "Transfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n5\r\nhello\r\n0\r\nX-Sum: 42\r\n\r\n",
				"5 cl=-1 te=[chunked] trailer=42"},
		} {
			c := dialRaw(t, tt.URL)
			_, _ = io.WriteString(c, "POST /small HTTP/1.1\r\nHost: t\r\n"+tc.req)
			resp, err := http.ReadResponse(c.br, nil)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(b) != tc.want {
				t.Errorf("%s: %d %q, want 200 %q", tc.name, resp.StatusCode, b, tc.want)
			}
		}
	})
}

// TestE2EPrereadLatencyExcludesClient: the upstream latency recorded for
// analysis does not include the time a client took to send its body. The
// clock moves 10 s while the gateway waits for the body (after it
// answered 100 Continue); the recorded p99 stays below that.
func TestE2EPrereadLatencyExcludesClient(t *testing.T) {
	clock := testclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	up := newCounting(t)
	tt := testutil.StartWith(t, prereadYAML, map[string]string{"UP": up.srv.URL}, gateway.AppOptions{Now: clock.Now})
	c := dialRaw(t, tt.URL)
	_, _ = io.WriteString(c, "POST /slow HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
	if got := c.status(); got != http.StatusContinue {
		t.Fatalf("first answer %d, want 100 Continue", got)
	}
	clock.Advance(10 * time.Second)
	_, _ = io.WriteString(c, "hello")
	if got := c.status(); got != 200 {
		t.Fatalf("status %d", got)
	}
	var s struct{ n, p99 int64 }
	testutil.Eventually(t, 10*time.Second, "the attempt recorded", func() bool {
		sum := tt.App.Stats.VersionWindow("svc", "v1", time.Minute, time.Time{})
		s.n, s.p99 = sum.Requests, int64(sum.P99)
		return sum.Requests == 1
	})
	if time.Duration(s.p99) >= 10*time.Second {
		t.Errorf("recorded latency p99 %v includes the client's 10 s of sending", time.Duration(s.p99))
	}
}
