package upstream

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// hugeHeadUpstream answers every request with a head of about size bytes
// of header lines (then an empty body) and records how many bytes of it
// the client let it write before closing the connection.
func hugeHeadUpstream(t *testing.T, size int64) (url string, wrote *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	wrote = new(atomic.Int64)
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
				bw := bufio.NewWriterSize(c, 64<<10)
				n, _ := bw.WriteString("HTTP/1.1 200 OK\r\n")
				for int64(n) < size {
					m, err := bw.WriteString(line)
					n += m
					if err != nil {
						break
					}
				}
				_, _ = bw.WriteString("Content-Length: 0\r\n\r\n")
				_ = bw.Flush()
				wrote.Store(int64(n) - int64(bw.Buffered()))
			}()
		}
	}()
	return "http://" + ln.Addr().String(), wrote
}

// headCase is a request sent by the h1 transport (no body) or by
// net/http's (a body over maxFastBody).
type headCase struct {
	name string
	body []byte
}

func (tc headCase) req(t *testing.T) *http.Request {
	if tc.body == nil {
		return newReq(t, http.MethodGet, "/")
	}
	req := newReq(t, http.MethodPost, "/")
	req.Body = io.NopCloser(bytes.NewReader(tc.body))
	req.ContentLength = int64(len(tc.body))
	return req
}

// TestResponseHeaderBound: an upstream answering with 64 MiB of header
// lines fails the request with ErrResponseHeaderTooLarge, on both the h1
// transport (a GET) and net/http's (an upload over 64 KiB), having read
// little more than the bound; a head within the bound is read.
func TestResponseHeaderBound(t *testing.T) {
	const limit = 64 << 10
	for _, tc := range []headCase{
		{"h1 transport", nil},
		{"net/http transport", bytes.Repeat([]byte("b"), 100<<10)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, wrote := hugeHeadUpstream(t, 64<<20)
			p := mustPool(t, upstreamSpec("http1", url), WithMaxResponseHeaderBytes(limit))
			_, held, err := p.Send(tc.req(t))
			if !errors.Is(err, ErrResponseHeaderTooLarge) {
				t.Fatalf("err %v, want ErrResponseHeaderTooLarge", err)
			}
			if want := tc.body != nil; held != want {
				t.Errorf("held %v: the request went through the wrong transport", held)
			}
			eventually(t, 10*time.Second, "the upstream to stop writing", func() bool { return wrote.Load() > 0 })
			// What the upstream got to write: the bound, what the sockets
			// buffer, and its own write buffer; far from 64 MiB.
			if n := wrote.Load(); n > 16<<20 {
				t.Errorf("the upstream wrote %d bytes of head before the connection closed", n)
			}
		})
		t.Run(tc.name+" within the bound", func(t *testing.T) {
			url, _ := hugeHeadUpstream(t, limit-4<<10)
			p := mustPool(t, upstreamSpec("http1", url), WithMaxResponseHeaderBytes(limit))
			if code, _, err := send(p, tc.req(t)); err != nil || code != 200 {
				t.Fatalf("%d %v", code, err)
			}
		})
	}
}
