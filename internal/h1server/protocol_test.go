package h1server

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestPipelining sends three requests in one write; the answers come back
// in order on the same connection.
func TestPipelining(t *testing.T) {
	_, addr := start(t, &echo{}, nil)
	c := dial(t, addr)
	c.send("GET /1 HTTP/1.1\r\nHost: x\r\n\r\n" +
		"POST /2 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi" +
		"POST /3 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nyo\r\n0\r\n\r\n")
	for _, want := range []string{"GET /1 x\n", "POST /2 x\nhi", "POST /3 x\nyo"} {
		resp, body := c.response("GET")
		if resp.StatusCode != 200 || body != want || resp.Close {
			t.Errorf("%d %q (close %v), want 200 %q kept open", resp.StatusCode, body, resp.Close, want)
		}
	}
}

// TestUnreadBody: a body the handler ignores is drained when small (the
// connection carries on) and ends the connection when too large.
func TestUnreadBody(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.URL.Path) })
	_, addr := start(t, h, nil)
	c := dial(t, addr)
	c.send("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabcde" +
		"POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n0\r\n\r\n" +
		"GET /c HTTP/1.1\r\nHost: x\r\n\r\n")
	for _, want := range []string{"/a", "/b", "/c"} {
		if resp, body := c.response("GET"); body != want || resp.Close {
			t.Errorf("%q (close %v), want %q", body, resp.Close, want)
		}
	}
	c.send(fmt.Sprintf("POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", maxDrain+1))
	if resp, _ := c.response("GET"); !resp.Close {
		t.Error("a body too large to drain leaves the connection open")
	}
}

// TestExpectContinue: 100 Continue is sent when the handler reads the
// body, and not at all (the connection then closes) when it does not.
func TestExpectContinue(t *testing.T) {
	_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/read" {
			b, _ := io.ReadAll(r.Body)
			w.Write(b)
			return
		}
		w.WriteHeader(http.StatusForbidden)
	}), nil)
	c := dial(t, addr)
	c.send("POST /read HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n")
	if resp, _ := c.response("POST"); resp.StatusCode != 100 {
		t.Fatalf("status %d, want 100 first", resp.StatusCode)
	}
	c.send("abc")
	if resp, body := c.response("POST"); resp.StatusCode != 200 || body != "abc" || resp.Close {
		t.Errorf("%d %q close %v", resp.StatusCode, body, resp.Close)
	}
	c.send("POST /deny HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n")
	if resp, _ := c.response("POST"); resp.StatusCode != 403 || !resp.Close {
		t.Errorf("status %d close %v, want 403 and close without 100", resp.StatusCode, resp.Close)
	}
}

// TestHTTP10 covers HTTP/1.0: close by default, keep-alive on request
// with a length, close-delimited bodies of unknown length.
func TestHTTP10(t *testing.T) {
	_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/stream" {
			w.Write([]byte(strings.Repeat("s", 3000)))
			return
		}
		io.WriteString(w, r.Proto)
	}), nil)
	c := dial(t, addr)
	c.send("GET /a HTTP/1.0\r\n\r\n")
	resp, body := c.response("GET")
	if resp.Proto != "HTTP/1.0" || body != "HTTP/1.0" || !resp.Close || !c.closed() {
		t.Errorf("%s %q close %v", resp.Proto, body, resp.Close)
	}
	c = dial(t, addr)
	c.send("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
	resp, _ = c.response("GET")
	if resp.Close || resp.ContentLength != 8 {
		t.Errorf("keep-alive: close %v, length %d", resp.Close, resp.ContentLength)
	}
	c.send("GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
	resp, body = c.response("GET")
	if !resp.Close || len(body) != 3000 || resp.ContentLength != -1 {
		t.Errorf("stream: close %v, %d bytes, length %d", resp.Close, len(body), resp.ContentLength)
	}
}

// TestResponseFraming: small answers get a Content-Length, larger ones
// chunked encoding, the handler's Content-Length is kept, HEAD and 204
// get no body.
func TestResponseFraming(t *testing.T) {
	_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/small":
			io.WriteString(w, "small")
		case "/large":
			w.Write([]byte(strings.Repeat("l", 5000)))
		case "/cl":
			w.Header().Set("Content-Length", "5000")
			w.Write([]byte(strings.Repeat("c", 5000)))
		case "/flush":
			io.WriteString(w, "a")
			w.(http.Flusher).Flush()
			io.WriteString(w, "b")
		case "/204":
			w.WriteHeader(204)
		}
	}), nil)
	for _, tc := range []struct {
		method, path string
		length       int64
		te           []string
		size         int
	}{
		{"GET", "/small", 5, nil, 5},
		{"GET", "/large", -1, []string{"chunked"}, 5000},
		{"GET", "/cl", 5000, nil, 5000},
		{"GET", "/flush", -1, []string{"chunked"}, 2},
		{"HEAD", "/small", 5, nil, 0},
		{"GET", "/204", 0, nil, 0},
	} {
		t.Run(tc.method+tc.path, func(t *testing.T) {
			c := dial(t, addr)
			c.send(tc.method + " " + tc.path + " HTTP/1.1\r\nHost: x\r\n\r\n")
			resp, body := c.response(tc.method)
			if resp.ContentLength != tc.length || fmt.Sprint(resp.TransferEncoding) != fmt.Sprint(tc.te) || len(body) != tc.size {
				t.Errorf("length %d, TE %v, %d bytes; want %d %v %d", resp.ContentLength, resp.TransferEncoding, len(body), tc.length, tc.te, tc.size)
			}
			if resp.Header.Get("Date") == "" {
				t.Error("no Date header")
			}
		})
	}
}

// TestTrailers: request trailers reach the handler; response trailers,
// declared or with http.TrailerPrefix, reach the client.
func TestTrailers(t *testing.T) {
	_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Trailer", "X-Sum")
		io.WriteString(w, "in:"+r.Trailer.Get("X-In"))
		w.Header().Set("X-Sum", "42")
		w.Header().Set(http.TrailerPrefix+"X-Late", "yes")
	}), nil)
	c := dial(t, addr)
	c.send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTrailer: X-In\r\n\r\n1\r\na\r\n0\r\nX-In: v\r\n\r\n")
	resp, body := c.response("POST")
	if body != "in:v" || resp.Trailer.Get("X-Sum") != "42" || resp.Trailer.Get("X-Late") != "yes" {
		t.Errorf("%q, trailers %v", body, resp.Trailer)
	}
}

// TestInformational: a 103 goes out before the final answer.
func TestInformational(t *testing.T) {
	_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</a.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		io.WriteString(w, "done")
	}), nil)
	c := dial(t, addr)
	c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, _ := c.response("GET"); resp.StatusCode != 103 || resp.Header.Get("Link") == "" {
		t.Fatalf("first %d %v, want 103 with Link", resp.StatusCode, resp.Header)
	}
	if resp, body := c.response("GET"); resp.StatusCode != 200 || body != "done" || resp.Header.Get("Link") != "" {
		t.Errorf("final %d %q %v", resp.StatusCode, body, resp.Header)
	}
}

// TestHijack: the handler takes the connection, with what the client sent
// after the head still readable.
func TestHijack(t *testing.T) {
	_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nc, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer nc.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
		brw.Flush()
		line, _ := brw.ReadString('\n')
		brw.WriteString("echo " + line)
		brw.Flush()
	}), nil)
	c := dial(t, addr)
	c.send("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\nping\n")
	if resp, _ := c.response("GET"); resp.StatusCode != 101 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if line, _ := c.br.ReadString('\n'); line != "echo ping\n" {
		t.Errorf("got %q", line)
	}
}

// TestResponseController: deadlines and flushes through
// http.ResponseController.
func TestResponseController(t *testing.T) {
	_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		for _, err := range []error{rc.SetReadDeadline(timeZero), rc.SetWriteDeadline(timeZero), rc.EnableFullDuplex(), rc.Flush()} {
			if err != nil {
				t.Error(err)
			}
		}
	}), nil)
	c := dial(t, addr)
	c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, _ := c.response("GET"); resp.StatusCode != 200 {
		t.Errorf("status %d", resp.StatusCode)
	}
}

// TestHeaderInjection: CR and LF in a response header value cannot start
// a new header.
func TestHeaderInjection(t *testing.T) {
	_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["X-A"] = []string{"a\r\nX-Injected: 1"}
	}), nil)
	c := dial(t, addr)
	c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, _ := c.response("GET")
	if resp.Header.Get("X-Injected") != "" || resp.Header.Get("X-A") != "a  X-Injected: 1" {
		t.Errorf("header %v", resp.Header)
	}
}
