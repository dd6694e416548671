package proxy_test

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
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/testutil"
)

// directUpstream serves the answer shapes the direct (non-ReverseProxy)
// path must forward faithfully.
func directUpstream(t *testing.T, release <-chan struct{}) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/hints":
			w.Header().Set("Link", "</app.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			_, _ = io.WriteString(w, "final")
		case "/trailer":
			w.Header().Set("Trailer", "X-Checksum")
			_, _ = io.WriteString(w, "body")
			w.Header().Set("X-Checksum", "abc")
		case "/cut":
			// A chunked body broken after its first chunk: only an
			// aborted response tells the client it is incomplete.
			_, _ = io.WriteString(w, "12345")
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		case "/events":
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, "data: one\n\n")
			w.(http.Flusher).Flush()
			<-release
			_, _ = io.WriteString(w, "data: two\n\n")
		case "/hop":
			w.Header().Set("Connection", "X-Secret")
			w.Header().Set("X-Secret", "upstream-only")
			w.Header().Set("Keep-Alive", "timeout=5")
			_, _ = io.WriteString(w, "ok")
		}
	}))
	t.Cleanup(s.Close)
	return s
}

// TestE2EDirectPath drives the direct path's forwarding rules through a
// real Turnout: informational answers, trailers, a body cut midway,
// streamed events and hop-by-hop response headers.
func TestE2EDirectPath(t *testing.T) {
	release := make(chan struct{})
	up := directUpstream(t, release)
	tt := testutil.Start(t, protoHTTPYAML, map[string]string{"V1": up.URL, "V2": up.URL})
	c := &http.Client{Timeout: 10 * time.Second}

	t.Run("early hints reach the client", func(t *testing.T) {
		var hints []string
		trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
			hints = append(hints, h.Get("Link"))
			return nil
		}}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", tt.URL+"/hints", nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "final" || len(hints) != 1 || hints[0] != "</app.css>; rel=preload" {
			t.Fatalf("body %q, hints %q", b, hints)
		}
	})
	t.Run("trailers reach the client", func(t *testing.T) {
		resp, err := c.Get(tt.URL + "/trailer")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "body" || resp.Trailer.Get("X-Checksum") != "abc" {
			t.Fatalf("body %q, trailer %v", b, resp.Trailer)
		}
	})
	t.Run("a cut body is not passed off as whole", func(t *testing.T) {
		resp, err := c.Get(tt.URL + "/cut")
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("read %q with %v, want io.ErrUnexpectedEOF", b, err)
		}
	})
	t.Run("events are flushed as they come", func(t *testing.T) {
		resp, err := c.Get(tt.URL + "/events")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		br := bufio.NewReader(resp.Body)
		line, err := br.ReadString('\n')
		if err != nil || line != "data: one\n" {
			t.Fatalf("first event %q %v (before the upstream sent the second)", line, err)
		}
		close(release)
		rest, _ := io.ReadAll(br)
		if !strings.Contains(string(rest), "data: two") {
			t.Fatalf("second event missing: %q", rest)
		}
	})
	t.Run("hop-by-hop response headers stay behind", func(t *testing.T) {
		resp, err := c.Get(tt.URL + "/hop")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		for _, k := range []string{"X-Secret", "Keep-Alive"} {
			if v := resp.Header.Get(k); v != "" {
				t.Errorf("%s reached the client: %q", k, v)
			}
		}
		if resp.Header.Get("X-Served-Version") != "v1" {
			t.Errorf("X-Served-Version %q", resp.Header.Get("X-Served-Version"))
		}
	})
}

// TestE2EDirectHTTP10KeepAlive: an HTTP/1.0 client asking for keep-alive
// keeps its connection; the Connection header the server reads must not be
// removed from under it.
func TestE2EDirectHTTP10KeepAlive(t *testing.T) {
	v1 := testutil.VersionServer(t, "v1")
	tt := testutil.Start(t, protoHTTPYAML, map[string]string{"V1": v1.URL, "V2": v1.URL})
	conn, err := net.Dial("tcp", strings.TrimPrefix(tt.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(conn)
	for i := 0; i < 2; i++ {
		if _, err := io.WriteString(conn, "GET /x HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n"); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Close {
			t.Fatalf("response %d: status %d, close %v", i, resp.StatusCode, resp.Close)
		}
	}
}
