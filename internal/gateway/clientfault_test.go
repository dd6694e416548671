package gateway_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/gateway"
	"github.com/turnout-gw/turnout/internal/rollout"
	"github.com/turnout-gw/turnout/internal/testutil"
)

// clientFaultYAML is a rollout that a handful of failures of v2 would roll
// back, with short client-side bounds so that slow and large bodies are
// refused quickly.
const clientFaultYAML = `
limits: { request_body_timeout: 2s, max_request_body_bytes: 4KiB }
upstreams:
  v1: { targets: [{{V1}}] }
  v2: { targets: [{{V2}}] }
services:
  users:
    match: { path_prefix: /users }
    default: v1
    versions:
      v1: { upstream: v1 }
      v2: { upstream: v2 }
    rollout:
      from: v1
      to: v2
      weight: 50
      analysis: { window: 1m, interval: 50ms, min_requests: 20, max_error_rate: 0.1 }
`

// bodyUpstream reads every request body whole and answers 200; started
// tells of each request it begins.
type bodyUpstream struct {
	srv     *httptest.Server
	started chan struct{}
}

func newBodyUpstream(t *testing.T) *bodyUpstream {
	u := &bodyUpstream{started: make(chan struct{}, 4096)}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case u.started <- struct{}{}:
		default:
		}
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			return
		}
		_, _ = io.WriteString(w, "ok\n")
	}))
	t.Cleanup(u.srv.Close)
	return u
}

// hostile is one kind of bad client: send writes the request on c and
// reports whether an answer is to be read.
type hostile struct {
	name string
	send func(c net.Conn) (answer bool)
}

// continued reads the gateway's 100 Continue from c, byte by byte so that
// nothing of the final answer is consumed: the gateway has the head and
// has begun to read the body.
func continued(c net.Conn) bool {
	var head []byte
	b := make([]byte, 1)
	for len(head) < 1024 && !strings.HasSuffix(string(head), "\r\n\r\n") {
		if _, err := c.Read(b); err != nil {
			return false
		}
		head = append(head, b[0])
	}
	return strings.HasPrefix(string(head), "HTTP/1.1 100 ")
}

const hostileHead = "POST /users/1 HTTP/1.1\r\nHost: t\r\n"

var hostiles = []hostile{
	{"bad-chunked", func(c net.Conn) bool {
		_, _ = io.WriteString(c, hostileHead+"Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n")
		return true
	}},
	{"bad-chunked-late", func(c net.Conn) bool {
		_, _ = io.WriteString(c, hostileHead+"Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n5\r\nhello\r\n")
		if !continued(c) {
			return true
		}
		_, _ = io.WriteString(c, "zz\r\nhello\r\n0\r\n\r\n")
		return true
	}},
	{"aborted-upload", func(c net.Conn) bool {
		_, _ = io.WriteString(c, hostileHead+"Content-Length: 1000\r\n\r\n0123456789")
		_ = c.(*net.TCPConn).CloseWrite()
		return true
	}},
	{"client-gone", func(c net.Conn) bool {
		_, _ = io.WriteString(c, hostileHead+"Content-Length: 1000\r\nExpect: 100-continue\r\n\r\n")
		if continued(c) {
			_, _ = io.WriteString(c, "0123456789")
		}
		return false
	}},
	{"slow-body", func(c net.Conn) bool {
		_, _ = io.WriteString(c, hostileHead+"Content-Length: 1000\r\n\r\n0123456789")
		return true // nothing more: the body timeout must answer
	}},
	{"large-length", func(c net.Conn) bool {
		_, _ = io.WriteString(c, hostileHead+"Content-Length: 100000\r\n\r\n0123456789")
		return true
	}},
	{"large-chunked", func(c net.Conn) bool {
		chunk := strings.Repeat("x", 1000)
		_, _ = io.WriteString(c, hostileHead+"Transfer-Encoding: chunked\r\n\r\n")
		for range 8 {
			if _, err := fmt.Fprintf(c, "%x\r\n%s\r\n", len(chunk), chunk); err != nil {
				break
			}
		}
		return true
	}},
}

// wantCodes are the answers each kind must get.
var wantCodes = map[string]int{
	"bad-chunked": 400, "bad-chunked-late": 400, "aborted-upload": 400,
	"slow-body": 408, "large-length": 413, "large-chunked": 413,
}

// TestClientFaultsDoNotRollBack: a few hundred requests that fail because
// of their client (bad chunk framing, uploads cut short, clients leaving,
// bodies too slow or too large) during a rollout that a few upstream
// failures would roll back get 4xx answers, count as no failure of either
// version and roll nothing back; good requests afterwards are analysed
// with no errors. Both HTTP/1 engines.
func TestClientFaultsDoNotRollBack(t *testing.T) {
	for _, engine := range []string{"", gateway.EngineNetHTTP} {
		t.Run("engine="+engine, func(t *testing.T) {
			t.Setenv(gateway.EngineEnv, engine)
			clientFaults(t, 40)
		})
	}
}

func clientFaults(t *testing.T, perKind int) {
	v1, v2 := newBodyUpstream(t), newBodyUpstream(t)
	tt := testutil.StartWith(t, clientFaultYAML, map[string]string{"V1": v1.srv.URL, "V2": v2.srv.URL},
		gateway.AppOptions{Tick: 20 * time.Millisecond})
	state := func() rollout.Status {
		st, err := tt.App.Engine.Status("users")
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	codes := map[string]map[int]int{}
	var mu sync.Mutex
	run := func(h hostile) {
		code := hostileRequest(t, tt.App.Server.Addr(), h)
		mu.Lock()
		defer mu.Unlock()
		if codes[h.name] == nil {
			codes[h.name] = map[int]int{}
		}
		codes[h.name][code]++
	}
	sent := 0
	for _, h := range hostiles {
		// Every fault shows before any upstream is chosen: the body, under
		// limits.fallback_body, is read whole first.
		drain(v1.started, v2.started)
		var wg sync.WaitGroup
		for range perKind {
			wg.Go(func() { run(h) })
		}
		wg.Wait()
		if n := len(v1.started) + len(v2.started); n != 0 {
			t.Errorf("%s: %d requests reached an upstream; want them refused before", h.name, n)
		}
		sent += perKind
	}
	names := make([]string, 0, len(codes))
	for n := range codes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		t.Logf("%-18s codes %v", n, codes[n])
		if want, ok := wantCodes[n]; ok && codes[n][want] != perKind {
			t.Errorf("%s: codes %v, want %d×%d", n, codes[n], perKind, want)
		}
	}
	if st := state(); st.State == rollout.RolledBack {
		t.Fatalf("%d hostile client requests rolled the rollout back: %s", sent, st.Reason)
	}

	// Good requests afterwards until an analysis has judged at least
	// min_requests of them (the window starts at the second after the
	// rollout's start): it finds no error.
	c := &http.Client{}
	deadline := time.Now().Add(20 * time.Second)
	analysed := func(after time.Time) bool {
		st := state()
		return st.State == rollout.RolledBack || st.LastAnalysis != nil && st.LastAnalysis.At.After(after) && st.LastAnalysis.Requests >= 20
	}
	for i := 0; ; i++ {
		if i >= 5000 || time.Now().After(deadline) {
			t.Fatalf("no analysis of %d good requests", i)
		}
		resp, err := c.Post(tt.URL+"/users/1", "text/plain", strings.NewReader("fine"))
		if err != nil {
			t.Fatalf("good request %d: %v", i, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("good request %d: status %d", i, resp.StatusCode)
		}
		if i%20 == 19 && analysed(time.Time{}) {
			break
		}
	}
	last := time.Now()
	testutil.Eventually(t, 10*time.Second, "an analysis after the good requests", func() bool { return analysed(last) })
	st := state()
	if st.State == rollout.RolledBack || st.LastAnalysis.Errors != 0 {
		t.Errorf("after %d hostile requests: state %s (%s), analysis %d requests %d errors", sent, st.State, st.Reason,
			st.LastAnalysis.Requests, st.LastAnalysis.Errors)
	}
	for _, v := range []string{"v1", "v2"} {
		for _, code := range []string{"502", "504"} {
			if got := testutil.Metric(t, tt, `turnout_requests_total{code="`+code+`",service="users",version="`+v+`"}`); got != "" && got != "0" {
				t.Errorf("turnout_requests_total %s %s = %s", v, code, got)
			}
		}
	}
	for limit, want := range map[string]int{"body_timeout": perKind, "body_bytes": 2 * perKind} {
		if got := testutil.Metric(t, tt, `turnout_limit_rejections_total{limit="`+limit+`"}`); got != fmt.Sprint(want) {
			t.Errorf("turnout_limit_rejections_total{limit=%q} = %q, want %d", limit, got, want)
		}
	}
	t.Logf("%d hostile requests: state %s, analysis of %s: %d requests, %d errors", sent, st.State, st.To,
		st.LastAnalysis.Requests, st.LastAnalysis.Errors)
}

// hostileRequest sends one hostile request on its own connection and
// returns the status answered, 0 for none.
func hostileRequest(t *testing.T, addr string, h hostile) int {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Error(err)
		return -1
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if !h.send(c) {
		return 0
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// drain empties the channels without waiting.
func drain(chs ...chan struct{}) {
	for _, ch := range chs {
		for len(ch) > 0 {
			<-ch
		}
	}
}

// TestSlowBodyOverH2: an h2c request whose body stalls gets 408 from the
// body deadline, per stream, and counts against no version.
func TestSlowBodyOverH2(t *testing.T) {
	v1, v2 := newBodyUpstream(t), newBodyUpstream(t)
	tt := testutil.Start(t, strings.Replace(clientFaultYAML, "2s", "300ms", 1), map[string]string{"V1": v1.srv.URL, "V2": v2.srv.URL})
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	c := &http.Client{Transport: &http.Transport{Protocols: p}, Timeout: 10 * time.Second}
	pr, pw := io.Pipe()
	defer pw.Close()
	go func() { _, _ = io.WriteString(pw, "0123456789") }() // then nothing
	resp, err := c.Post(tt.URL+"/users/1", "text/plain", pr)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("HTTP/%d %d, want HTTP/2 408", resp.ProtoMajor, resp.StatusCode)
	}
	if got := testutil.Metric(t, tt, `turnout_limit_rejections_total{limit="body_timeout"}`); got != "1" {
		t.Errorf("body_timeout rejections %q, want 1", got)
	}
	if st, err := tt.App.Engine.Status("users"); err != nil || st.LastAnalysis != nil && st.LastAnalysis.Errors != 0 {
		t.Errorf("analysis %+v, %v", st.LastAnalysis, err)
	}
}
