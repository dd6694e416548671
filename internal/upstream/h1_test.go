package upstream

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// connCounting starts a server that counts the connections it accepted.
func connCounting(t *testing.T, h http.Handler) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var conns atomic.Int64
	s := httptest.NewUnstartedServer(h)
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s, &conns
}

// TestH1Exchanges drives the lean HTTP/1.1 transport through the answer
// shapes a proxy meets, each on a real server, and checks both what the
// caller reads and whether the connection was kept (one connection for all
// requests) or dropped (one per request).
func TestH1Exchanges(t *testing.T) {
	cases := []struct {
		name     string
		method   string
		handler  http.HandlerFunc
		body     string // what the caller reads
		trailer  string // Trailer "X-Sum" after the body
		conns    int64  // connections for 3 requests
		wantCode int
	}{
		{name: "length", method: "GET", conns: 1, wantCode: 200, body: "hello",
			handler: func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") }},
		{name: "chunked with trailer", method: "GET", conns: 1, wantCode: 200, body: "part1part2", trailer: "42",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Trailer", "X-Sum")
				io.WriteString(w, "part1")
				w.(http.Flusher).Flush()
				io.WriteString(w, "part2")
				w.Header().Set("X-Sum", "42")
			}},
		{name: "head", method: "HEAD", conns: 1, wantCode: 200,
			handler: func(w http.ResponseWriter, r *http.Request) { w.Header().Set("Content-Length", "5") }},
		{name: "no content", method: "GET", conns: 1, wantCode: 204,
			handler: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }},
		{name: "not modified", method: "GET", conns: 1, wantCode: 304,
			handler: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(304) }},
		{name: "connection close", method: "GET", conns: 3, wantCode: 200, body: "bye",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Connection", "close")
				io.WriteString(w, "bye")
			}},
		{name: "early hints then answer", method: "GET", conns: 1, wantCode: 200, body: "ok",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Link", "</a.css>; rel=preload")
				w.WriteHeader(http.StatusEarlyHints)
				io.WriteString(w, "ok")
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, conns := connCounting(t, tc.handler)
			p := mustPool(t, upstreamSpec("http1", srv.URL))
			for i := 0; i < 3; i++ {
				req := newReq(t, tc.method, "/x")
				resp, err := p.RoundTrip(req)
				if err != nil {
					t.Fatal(err)
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != tc.wantCode || string(b) != tc.body {
					t.Fatalf("got %d %q %v, want %d %q", resp.StatusCode, b, err, tc.wantCode, tc.body)
				}
				if got := resp.Trailer.Get("X-Sum"); got != tc.trailer {
					t.Fatalf("trailer %q, want %q", got, tc.trailer)
				}
			}
			if got := conns.Load(); got != tc.conns {
				t.Fatalf("%d connections for 3 requests, want %d", got, tc.conns)
			}
		})
	}
}

// TestH1ForwardsInformational checks that a 1xx answer reaches the
// caller's Got1xxResponse hook (the proxy forwards 103 Early Hints).
func TestH1ForwardsInformational(t *testing.T) {
	srv, _ := connCounting(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</a.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		io.WriteString(w, "ok")
	}))
	p := mustPool(t, upstreamSpec("http1", srv.URL))
	var got []string
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		got = append(got, http.StatusText(code)+" "+h.Get("Link"))
		return nil
	}}
	req := newReq(t, "GET", "/")
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
	if code, body, err := send(p, req); err != nil || code != 200 || body != "ok" {
		t.Fatalf("got %d %q %v", code, body, err)
	}
	if len(got) != 1 || got[0] != "Early Hints </a.css>; rel=preload" {
		t.Fatalf("informational answers %q", got)
	}
}

// rawServer answers each request on a connection with handle's bytes and
// closes the connection after answers answers (0: never). It counts the
// connections accepted and those it closed.
func rawServer(t *testing.T, answers int, handle func(req *http.Request) string) (url string, conns, closed *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conns, closed = new(atomic.Int64), new(atomic.Int64)
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer closed.Add(1)
				defer c.Close()
				br := bufio.NewReader(c)
				for n := 1; ; n++ {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					io.WriteString(c, handle(req))
					if n == answers {
						return
					}
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String(), conns, closed
}

// TestH1StaleConnection: an upstream that closes a kept-alive connection
// without saying so. The next request goes on a new connection. (Requests
// caught by the close as they go out: h1reuse_test.go.)
func TestH1StaleConnection(t *testing.T) {
	ok := "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	url, conns, closed := rawServer(t, 1, func(*http.Request) string { return ok })
	p := mustPool(t, upstreamSpec("http1", url))
	mustGet(t, p, "/1")
	eventually(t, 5*time.Second, "the server's close", func() bool { return closed.Load() == 1 })
	if body := mustGet(t, p, "/2"); body != "ok" {
		t.Fatalf("second GET %q", body)
	}
	if got := conns.Load(); got != 2 {
		t.Fatalf("%d connections, want 2", got)
	}
}

// TestH1WritesRequest checks the bytes the lean writer sends.
func TestH1WritesRequest(t *testing.T) {
	var got atomic.Pointer[http.Request]
	url, _, _ := rawServer(t, 0, func(r *http.Request) string {
		got.Store(r)
		return "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
	})
	p := mustPool(t, upstreamSpec("http1", url+"/base"))
	cases := []struct {
		name   string
		method string
		path   string
		body   string
		set    map[string]string
		check  func(r *http.Request) string
	}{
		{"path and query", "GET", "/a%2Fb/c?x=1&y=%20", "", nil, func(r *http.Request) string {
			if r.RequestURI != "/base/a%2Fb/c?x=1&y=%20" {
				return "request URI " + r.RequestURI
			}
			return ""
		}},
		{"no user agent", "GET", "/", "", map[string]string{"User-Agent": ""}, func(r *http.Request) string {
			if _, ok := r.Header["User-Agent"]; ok {
				return "User-Agent sent: " + r.UserAgent()
			}
			return ""
		}},
		{"host and headers", "GET", "/", "", map[string]string{"X-Env": "canary", "Host": "api.example.com"}, func(r *http.Request) string {
			if r.Host != "api.example.com" || r.Header.Get("X-Env") != "canary" {
				return "host " + r.Host + " X-Env " + r.Header.Get("X-Env")
			}
			return ""
		}},
		{"post body", "POST", "/", `{"a":1}`, nil, func(r *http.Request) string {
			if r.ContentLength != 7 {
				return "content length"
			}
			return ""
		}},
		{"delete without body", "DELETE", "/", "", nil, func(r *http.Request) string {
			if r.Header.Get("Content-Length") != "0" {
				return "no Content-Length: 0"
			}
			return ""
		}},
		{"newline in value", "GET", "/", "", map[string]string{"X-Note": "a\r\nInjected: yes"}, func(r *http.Request) string {
			if r.Header.Get("Injected") != "" || r.Header.Get("X-Note") != "a  Injected: yes" {
				return "header injection: " + r.Header.Get("X-Note")
			}
			return ""
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := newReq(t, tc.method, tc.path)
			if tc.body != "" {
				req.Body = io.NopCloser(strings.NewReader(tc.body))
				req.ContentLength = int64(len(tc.body))
				req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(tc.body)), nil }
			}
			for k, v := range tc.set {
				if k == "Host" {
					req.Host = v
					continue
				}
				req.Header[k] = []string{v}
			}
			if p.tr.pick(req) == nil || !p.tr.fast.fits(withTarget(p, req)) {
				t.Fatal("request not on the lean transport")
			}
			if code, _, err := send(p, req); err != nil || code != 200 {
				t.Fatalf("%d %v", code, err)
			}
			if msg := tc.check(got.Load()); msg != "" {
				t.Fatal(msg)
			}
		})
	}
}

// withTarget returns a copy of req pointed at p's first target.
func withTarget(p *Pool, req *http.Request) *http.Request {
	r := req.Clone(req.Context())
	p.targets[0].apply(r.URL)
	return r
}

// TestH1Timeouts: no answer within the pool timeout is a timeout error
// (504 for the proxy); a cancelled request returns at once; a body the
// caller abandons does not leave its connection in the idle stack.
func TestH1Timeouts(t *testing.T) {
	block := make(chan struct{})
	t.Cleanup(func() { close(block) })
	var cancelled atomic.Bool // the request to cancel arrived
	srv, conns := connCounting(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/slow", "/cancel":
			if r.URL.Path == "/cancel" {
				cancelled.Store(true)
			}
			select {
			case <-block:
			case <-r.Context().Done():
			}
		case "/long":
			w.Header().Set("Content-Length", "10")
			io.WriteString(w, "12345")
			w.(http.Flusher).Flush()
		}
	}))
	spec := upstreamSpec("http1", srv.URL)
	spec.Timeout = 200 * 1e6 // 200ms as a config.Duration
	p := mustPool(t, spec)

	_, _, err := send(p, newReq(t, "GET", "/slow"))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("slow upstream: %v, want a timeout", err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	req := newReq(t, "GET", "/cancel").WithContext(ctx)
	errc := make(chan error, 1)
	go func() { _, _, err := send(p, req); errc <- err }()
	eventually(t, 5*time.Second, "the request at the upstream", cancelled.Load)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled request: %v, want context.Canceled", err)
	}

	before := conns.Load()
	resp, err := p.RoundTrip(newReq(t, "GET", "/long"))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	io.ReadFull(resp.Body, buf)
	resp.Body.Close() // abandoned with 5 bytes unread
	mustGet(t, p, "/")
	if got := conns.Load() - before; got != 2 {
		t.Fatalf("%d new connections, want 2 (the abandoned one must not be reused)", got)
	}
}
