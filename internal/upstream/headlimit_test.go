package upstream

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/testutil/rawserver"
)

// hugeHeadUpstream answers every request with a head of about size
// bytes of header lines and records how many bytes of it the client let
// it write.
func hugeHeadUpstream(t *testing.T, size int64) (url string, wrote *atomic.Int64) {
	wrote = new(atomic.Int64)
	return "http://" + rawserver.Start(t, rawserver.HugeHead(size, wrote)), wrote
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
