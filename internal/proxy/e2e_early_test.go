package proxy_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/testutil"
	"github.com/turnout-gw/turnout/internal/testutil/rawserver"
)

// earlyUpstream answers every request as soon as its head has arrived,
// before reading its body (as an upstream refusing an upload does): one
// with Expect: 100-continue with Connection: close, closing the
// connection; any other it then reads the body of, keeping the
// connection.
func earlyUpstream(t *testing.T) string {
	return "http://" + rawserver.Start(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for range 10000 {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			if req.Header.Get("Expect") != "" {
				// Refused without a 100: the connection closes, and
				// net/http's writer skips the body.
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
				return
			}
			if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"); err != nil {
				return
			}
			if _, err := io.Copy(io.Discard, req.Body); err != nil {
				return
			}
		}
	})
}

// TestE2EEarlyAnswerStdTransport: uploads that take net/http's Transport
// (a body larger than the h1 transport sends, or of unknown length, some
// with Expect: 100-continue) to an upstream that answers before reading
// them. The Transport's writer goroutine still reads the outbound request
// after the answer came back; the proxy must not recycle what that
// request refers to (its URL, X-Forwarded-* values, trace) meanwhile.
// Run with -race: the detector reports the reuse.
func TestE2EEarlyAnswerStdTransport(t *testing.T) {
	up := earlyUpstream(t)
	tt := testutil.Start(t, protoHTTPYAML, map[string]string{"V1": up, "V2": up})
	// A connection per request: what Turnout does with a client connection
	// whose body it did not read is not this test's business.
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	body := bytes.Repeat([]byte("u"), 100<<10) // over the h1 transport's 64 KiB
	const clients, each = 4, 25
	var wg sync.WaitGroup
	errs := make(chan error, clients*each)
	for n := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				var rd io.Reader = bytes.NewReader(body)
				if i%2 == 1 {
					rd = io.MultiReader(strings.NewReader("x"), bytes.NewReader(body)) // unknown length
				}
				req, err := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/up/%d/%d", tt.URL, n, i), rd)
				if err != nil {
					errs <- err
					return
				}
				if i%4 < 2 {
					req.Header.Set("Expect", "100-continue")
				}
				resp, err := c.Do(req)
				if err != nil {
					errs <- err
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != http.StatusOK || string(b) != "ok" {
					errs <- fmt.Errorf("%s: %d %q", req.URL.Path, resp.StatusCode, b)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
