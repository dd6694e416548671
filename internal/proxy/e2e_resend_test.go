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

// TestE2EResetMidBodyNeverResent: with fallback on (so the body is kept
// and the lean HTTP/1.1 client sends it), an upstream that reads 1 KB of
// a 60 KB POST on a kept-alive connection and resets it. The POST may
// have been acted on: it reaches the upstreams once, neither resent on a
// new connection nor on the fallback version, and the client gets 502.
func TestE2EResetMidBodyNeverResent(t *testing.T) {
	u := &resetter{}
	addr := "http://" + rawserver.Start(t, u.serve)
	yaml := strings.Replace(fallbackYAML, "fallback_body: 1KiB", "fallback_body: 64KiB", 1)
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
