package gateway_test

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/testutil"
)

// hugeHead is an upstream answering every request with about 32 MiB of
// header lines, written until the client stops reading.
func hugeHead(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil {
					return
				}
				_, _ = io.Copy(io.Discard, req.Body)
				line := "X-Pad: " + strings.Repeat("a", 1000) + "\r\n"
				if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\n"); err != nil {
					return
				}
				for range 32 << 10 {
					if _, err := io.WriteString(c, line); err != nil {
						return
					}
				}
				_, _ = io.WriteString(c, "Content-Length: 0\r\n\r\n")
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

const respHeaderYAML = `
limits:
  max_response_header_bytes: 32KiB
upstreams:
  v1: { targets: [{{V1}}] }
services:
  api:
    match: { path_prefix: / }
    default: v1
    versions: { v1: { upstream: v1 } }
`

// TestMaxResponseHeaderBytes: an upstream answer whose head exceeds
// limits.max_response_header_bytes is answered 502 and counted, whether
// the request went through the h1 transport (a GET) or net/http's (an
// upload over 64 KiB).
func TestMaxResponseHeaderBytes(t *testing.T) {
	tt := testutil.Start(t, respHeaderYAML, map[string]string{"V1": hugeHead(t)})
	c := &http.Client{Timeout: 30 * time.Second}
	if s, _, body := testutil.Get(t, c, tt.URL+"/a"); s != http.StatusBadGateway || !strings.Contains(body, "max_response_header_bytes") {
		t.Errorf("GET: %d %s, want 502 naming max_response_header_bytes", s, body)
	}
	resp, err := c.Post(tt.URL+"/b", "application/octet-stream", bytes.NewReader(bytes.Repeat([]byte("b"), 100<<10)))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(body), "max_response_header_bytes") {
		t.Errorf("POST: %d %s, want 502 naming max_response_header_bytes", resp.StatusCode, body)
	}
	if got := testutil.Metric(t, tt, `turnout_limit_rejections_total{limit="response_header_bytes"}`); got != "2" {
		t.Errorf("response_header_bytes rejections %q, want 2", got)
	}
}
