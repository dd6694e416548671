package proxy_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/testutil"
	"github.com/turnout-gw/turnout/internal/testutil/rawserver"
)

// resetter is an upstream that counts requests by X-Id and, the first
// time it receives a POST of an X-Id, reads 1 KB of its body and resets
// the connection; it answers everything else 200, keeping the
// connection.
type resetter struct{ rawserver.Recorder }

func (u *resetter) serve(c net.Conn) {
	br := bufio.NewReader(c)
	for range 10000 {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		if u.Seen(req) == 1 && req.Method == http.MethodPost {
			rawserver.ResetMidBody(c, req, 1024)
			return
		}
		if !rawserver.AnswerOK(c, req) {
			return
		}
	}
}

// TestE2EResetMidBodyNeverResent: a 60 KB POST, under the bound, is read
// whole first and kept (replayable), so the lean HTTP/1.1 client sends
// it, with fallback on and off. An upstream reads 1 KB of it on a
// kept-alive connection and resets it. The POST may have been acted on:
// it reaches the upstreams once, neither resent on a new connection nor
// on the fallback version, and the client gets 502.
func TestE2EResetMidBodyNeverResent(t *testing.T) {
	yaml := strings.Replace(fallbackYAML, "fallback_body: 1KiB", "fallback_body: 64KiB", 1)
	t.Run("fallback", func(t *testing.T) { resetMidBody(t, yaml) })
	t.Run("no-fallback", func(t *testing.T) { resetMidBody(t, strings.Replace(yaml, "fallback: true", "fallback: false", 1)) })
}

func resetMidBody(t *testing.T, yaml string) {
	u := &resetter{}
	addr := "http://" + rawserver.Start(t, u.serve)
	tt := testutil.Start(t, yaml, map[string]string{"V1": addr, "V2": addr})
	c := &http.Client{Timeout: 30 * time.Second}
	body := bytes.Repeat([]byte("p"), 60<<10)
	do := func(method, id string, body []byte) int {
		req, err := http.NewRequest(method, tt.URL+"/users", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body == nil {
			req.Body = nil
		}
		req.Header.Set("X-Id", id)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, id, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	for i := range 20 {
		if code := do(http.MethodGet, fmt.Sprint("get", i), nil); code != 200 {
			t.Fatalf("GET %d: %d", i, code)
		}
		id := fmt.Sprint("post", i)
		code := do(http.MethodPost, id, body)
		if n := u.Count(id); n != 1 || code != http.StatusBadGateway {
			t.Errorf("POST %d: client got %d, the upstreams received it %d times; want 502 and once", i, code, u.Count(id))
		}
	}
}

// TestE2EIdleClosePostOnce: an upstream that answers each request as if
// it kept the connection and then closes it at once, so that the
// gateway's next request may meet a connection the upstream is leaving.
// Every 60 KB POST, read whole first and replayable, reaches the upstream
// once and gets 200, or (when some of it was written into the closing
// connection: the upstream may have read it) never and gets 502; none is
// sent twice.
func TestE2EIdleClosePostOnce(t *testing.T) {
	var u rawserver.Recorder
	addr := "http://" + rawserver.Start(t, func(c net.Conn) {
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			return
		}
		u.Seen(req)
		rawserver.AnswerOK(c, req)
	})
	tt := testutil.Start(t, strings.Replace(fallbackYAML, "fallback: true", "fallback: false", 1),
		map[string]string{"V1": addr, "V2": addr})
	c := &http.Client{Timeout: 30 * time.Second}
	body := bytes.Repeat([]byte("p"), 60<<10)
	const posts = 50
	refused := 0
	for i := range posts {
		id := fmt.Sprint("post", i)
		req, err := http.NewRequest(http.MethodPost, tt.URL+"/users", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Id", id)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("POST %d: %v", i, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		switch n := u.Count(id); {
		case n > 1 || n == 1 && resp.StatusCode != 200 || n == 0 && resp.StatusCode != http.StatusBadGateway:
			t.Errorf("POST %d: client got %d, the upstream received it %d times; want 200 and once, or 502 and never", i, resp.StatusCode, n)
		case n == 0:
			refused++
		}
	}
	t.Logf("%d POSTs: %d met a connection closed as they were written and got 502; none was sent twice", posts, refused)
}
