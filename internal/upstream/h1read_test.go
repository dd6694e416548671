package upstream

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// readBoth reads raw with readPlainResponse and, on a fresh reader, with
// http.ReadResponse. It fails t when readPlainResponse took an answer and
// differs from net/http in any field a proxy forwards, in the body, or in
// the bytes left for the next answer; it reports whether the fast path
// took the answer.
func readBoth(t *testing.T, raw []byte, method string) bool {
	t.Helper()
	req, _ := http.NewRequest(method, "http://upstream.test/", nil)
	br := bufio.NewReaderSize(bytes.NewReader(raw), 4096)
	_, _ = br.Peek(1)
	buffered := br.Buffered()
	a, ok := readPlainResponse(br, req)
	if !ok {
		if br.Buffered() != buffered {
			t.Fatalf("%q: not taken, but %d bytes consumed", raw, buffered-br.Buffered())
		}
		return false
	}
	want, err := http.ReadResponse(bufio.NewReaderSize(bytes.NewReader(raw), 4096), req)
	if err != nil {
		t.Fatalf("%q: taken, but net/http refuses it: %v", raw, err)
	}
	got := &a.resp
	if got.Body != http.NoBody {
		nc, peer := net.Pipe()
		defer peer.Close()
		a.body.c = &h1Conn{Conn: nc, br: br, stack: &idleStack{closed: true}}
	}
	type fields struct {
		Status                 string
		StatusCode             int
		Proto                  string
		ProtoMajor, ProtoMinor int
		Header, Trailer        http.Header
		ContentLength          int64
		Close                  bool
		TransferEncoding       []string
		NoBody                 bool
	}
	of := func(r *http.Response) fields {
		return fields{r.Status, r.StatusCode, r.Proto, r.ProtoMajor, r.ProtoMinor, r.Header, r.Trailer,
			r.ContentLength, r.Close, r.TransferEncoding, r.Body == http.NoBody}
	}
	if g, w := of(got), of(want); !reflect.DeepEqual(g, w) {
		t.Fatalf("%q:\n got %+v\nwant %+v", raw, g, w)
	}
	gb, gerr := io.ReadAll(got.Body)
	wb, werr := io.ReadAll(want.Body)
	if !bytes.Equal(gb, wb) || !errors.Is(gerr, werr) && fmt.Sprint(gerr) != fmt.Sprint(werr) {
		t.Fatalf("%q: body %q, %v; net/http %q, %v", raw, gb, gerr, wb, werr)
	}
	return true
}

func TestPlainResponse(t *testing.T) {
	for _, tc := range []struct {
		name, raw, method string
		taken             bool
	}{
		{"content length", "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}", "GET", true},
		{"empty body", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", "GET", true},
		{"no reason", "HTTP/1.1 503\r\nContent-Length: 1\r\n\r\nx", "GET", true},
		{"repeated and odd-case keys", "HTTP/1.1 200 OK\r\nset-cookie: a=1\r\nSET-COOKIE: b=2\r\nx-a-b: \t v \t\r\nContent-Length: 1\r\n\r\nx", "GET", true},
		{"connection close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx", "GET", true},
		{"connection keep-alive", "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx", "GET", true},
		{"head", "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", "HEAD", true},
		{"head without length", "HTTP/1.1 200 OK\r\n\r\n", "HEAD", true},
		{"204", "HTTP/1.1 204 No Content\r\nX: y\r\n\r\n", "GET", true},
		{"304 with length", "HTTP/1.1 304 Not Modified\r\nContent-Length: 12\r\n\r\n", "GET", true},
		{"obs-text value", "HTTP/1.1 200 OK\r\nX: caf\xc3\xa9\r\nContent-Length: 0\r\n\r\n", "GET", true},
		{"short body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", "GET", true},
		{"pipelined rest", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxHTTP/1.1 200 OK\r\n", "GET", true},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n", "GET", false},
		{"until close", "HTTP/1.1 200 OK\r\n\r\nabc", "GET", false},
		{"informational", "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n", "GET", false},
		{"HTTP/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", "GET", false},
		{"bare LF", "HTTP/1.1 200 OK\nContent-Length: 1\n\nx", "GET", false},
		{"folded line", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 1\r\n\r\nx", "GET", false},
		{"space before colon", "HTTP/1.1 200 OK\r\nX : a\r\nContent-Length: 1\r\n\r\nx", "GET", false},
		{"two lengths", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", "GET", false},
		{"signed length", "HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\nx", "GET", false},
		{"pragma", "HTTP/1.1 200 OK\r\nPragma: no-cache\r\nContent-Length: 0\r\n\r\n", "GET", false},
		{"trailer", "HTTP/1.1 200 OK\r\nTrailer: X\r\nContent-Length: 0\r\n\r\n", "GET", false},
		{"control byte", "HTTP/1.1 200 OK\r\nX: a\x01b\r\nContent-Length: 0\r\n\r\n", "GET", false},
		{"status glued to reason", "HTTP/1.1 200OK\r\nContent-Length: 0\r\n\r\n", "GET", false},
		{"head not complete", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n", "GET", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := readBoth(t, []byte(tc.raw), tc.method); got != tc.taken {
				t.Fatalf("taken by the fast path: %v, want %v", got, tc.taken)
			}
		})
	}
}

// FuzzPlainResponse checks that whatever answer readPlainResponse takes,
// it reads exactly as http.ReadResponse does.
func FuzzPlainResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
		"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n",
		"HTTP/1.1 200 OK\r\nx-a: 1\r\nX-A: 2\r\nContent-Length: 3\r\n\r\nabcdef",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, raw []byte, head bool) {
		method := "GET"
		if head {
			method = "HEAD"
		}
		if !strings.HasPrefix(string(raw), "HTTP/1.1 ") {
			raw = append([]byte("HTTP/1.1 "), raw...)
		}
		readBoth(t, raw, method)
	})
}
