package h1server

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestRefusals sends requests whose framing or head is ambiguous or
// malformed: each must be answered with the status and the connection
// closed, without the handler seeing a request (so nothing after the head
// can be taken for a second request).
func TestRefusals(t *testing.T) {
	const next = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
	for _, tc := range []struct {
		name, raw string
		status    int
	}{
		{"CL and TE", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
		{"TE and CL", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n", 400},
		{"differing CL", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde", 400},
		{"CL list", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4, 4\r\n\r\nabcd", 400},
		{"CL sign", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +4\r\n\r\nabcd", 400},
		{"CL negative", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400},
		{"CL hex", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x4\r\n\r\nabcd", 400},
		{"CL huge", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n", 400},
		{"TE gzip", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 400},
		{"TE gzip, chunked", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 400},
		{"TE chunked twice", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
		{"TE chunked list", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n", 400},
		{"TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
		{"TE with vertical tab", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \x0bchunked\r\n\r\n0\r\n\r\n", 400},
		{"space before colon", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n", 400},
		{"tab before colon", "GET / HTTP/1.1\r\nHost\t: x\r\n\r\n", 400},
		{"bare LF", "GET / HTTP/1.1\nHost: x\n\n", 400},
		{"bare LF in headers", "GET / HTTP/1.1\r\nHost: x\nX: y\r\n\r\n", 400},
		{"bare LF chunk size", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n", 400},
		{"obs-fold", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", 400},
		{"folded TE", "POST / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
		{"CR in value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n", 400},
		{"NUL in value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", 400},
		{"DEL in value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x7fb\r\n\r\n", 400},
		{"bad name", "GET / HTTP/1.1\r\nHost: x\r\nX(A): b\r\n\r\n", 400},
		{"empty name", "GET / HTTP/1.1\r\nHost: x\r\n: b\r\n\r\n", 400},
		{"no colon", "GET / HTTP/1.1\r\nHost: x\r\nX-A\r\n\r\n", 400},
		{"missing Host", "GET / HTTP/1.1\r\n\r\n", 400},
		{"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
		{"bad Host", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400},
		{"space in target", "GET /a b HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"double space", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"bad method", "G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"lower-case version", "GET / http/1.1\r\nHost: x\r\n\r\n", 400},
		{"HTTP/2.0 line", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505},
		{"HTTP/0.9", "GET / HTTP/0.9\r\nHost: x\r\n\r\n", 505},
		{"bad chunk size", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", 400},
		{"0x chunk size", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0x3\r\nabc\r\n0\r\n\r\n", 400},
		{"negative chunk size", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n-3\r\nabc\r\n0\r\n\r\n", 400},
		{"space after size", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3 \r\nabc\r\n0\r\n\r\n", 400},
		{"huge chunk size", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000003\r\nabc\r\n0\r\n\r\n", 400},
		{"chunk without CRLF", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n", 400},
		{"bad trailer", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX Y: 1\r\n\r\n", 400},
		{"expectation", "GET / HTTP/1.1\r\nHost: x\r\nExpect: magic\r\n\r\n", 417},
		{"header too large", "GET / HTTP/1.1\r\nHost: x\r\nX-A: " + strings.Repeat("a", 600) + "\r\n\r\n", 431},
		{"line too large", "GET /" + strings.Repeat("a", 700) + " HTTP/1.1\r\nHost: x\r\n\r\n", 431},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &echo{}
			_, addr := start(t, e, func(s *Server) { s.MaxHeaderBytes = 512 })
			c := dial(t, addr)
			c.send(tc.raw + next)
			resp, body := c.response("GET")
			if resp.StatusCode != tc.status {
				t.Errorf("status %d (%q), want %d", resp.StatusCode, body, tc.status)
			}
			if !resp.Close {
				t.Error("the refusal does not say Connection: close")
			}
			if !c.closed() {
				t.Error("connection left open")
			}
			e.mu.Lock()
			defer e.mu.Unlock()
			for _, r := range e.reqs {
				if r.URL.Path == "/smuggled" {
					t.Error("the bytes after the refused request were served as a request")
				}
			}
		})
	}
}

// TestAccepted are the lenient-but-unambiguous forms that must still be
// served: identical duplicate Content-Length, case of "chunked", chunk
// extensions, obs-text in values.
func TestAccepted(t *testing.T) {
	for _, tc := range []struct{ name, raw, want string }{
		{"same CL twice", "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", "POST /a x\nabc"},
		{"Chunked", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", "POST /a x\nabc"},
		{"chunk extension", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;name=v\r\nabc\r\n0\r\n\r\n", "POST /a x\nabc"},
		{"obs-text", "GET /a HTTP/1.1\r\nHost: x\r\nX-A: caf\xe9\r\n\r\n", "GET /a x\n"},
		{"absolute form", "GET http://h.example/p?q=1 HTTP/1.1\r\nHost: x\r\n\r\n", "GET http://h.example/p?q=1 h.example\n"},
		{"OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", "OPTIONS * x\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, addr := start(t, &echo{}, nil)
			c := dial(t, addr)
			c.send(tc.raw)
			resp, body := c.response("GET")
			if resp.StatusCode != 200 || body != tc.want {
				t.Errorf("%d %q, want 200 %q", resp.StatusCode, body, tc.want)
			}
		})
	}
}

// TestParseURI checks the allocation-free path against url.ParseRequestURI.
func TestParseURI(t *testing.T) {
	for _, uri := range []string{"/", "/a/b", "/a?b=c", "/a?", "/a?b?c", "//x/y", "/a%20b", "/a;b=c", "/é", "/a|b",
		"/a+b:c@d", "*", "http://h/p", "/a#f"} {
		var got url.URL
		if err := parseURI("GET", uri, &got); err != nil {
			t.Errorf("%q: %v", uri, err)
			continue
		}
		want, err := url.ParseRequestURI(uri)
		if err != nil {
			t.Fatalf("%q: %v", uri, err)
		}
		if got != *want {
			t.Errorf("%q: got %#v, want %#v", uri, got, *want)
		}
	}
	var u url.URL
	if err := parseURI("CONNECT", "h.example:443", &u); err != nil || u.Host != "h.example:443" || u.Scheme != "" {
		t.Errorf("CONNECT authority: %#v, %v", u, err)
	}
}

// TestBadBodyUnread: a malformed chunked body the handler never read is
// found while draining it, and refused, not answered 200.
func TestBadBodyUnread(t *testing.T) {
	_, addr := start(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), nil)
	c := dial(t, addr)
	c.send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, _ := c.response("POST"); resp.StatusCode != 400 || !resp.Close {
		t.Errorf("status %d close %v, want 400 and close", resp.StatusCode, resp.Close)
	}
	if !c.closed() {
		t.Error("connection left open")
	}
}

// TestConnectionClose: a request saying Connection: close gets an answer
// saying so, then the connection ends.
func TestConnectionClose(t *testing.T) {
	_, addr := start(t, &echo{}, nil)
	c := dial(t, addr)
	c.send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	if resp, _ := c.response("GET"); !resp.Close {
		t.Error("answer without Connection: close")
	}
	if !c.closed() {
		t.Error("connection left open")
	}
}
