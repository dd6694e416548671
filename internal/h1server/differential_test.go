package h1server

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"testing"
	_ "unsafe" // for go:linkname

	"golang.org/x/net/http/httpguts"
)

// readRequest is net/http's request reader as its server calls it
// (http.ReadRequest removes the Host header first, hiding whether one was
// sent); net/http keeps it reachable with go:linkname.
//
//go:linkname readRequest net/http.readRequest
func readRequest(b *bufio.Reader) (*http.Request, error)

// maxDiffRequests bounds the requests compared on one input.
const maxDiffRequests = 8

// stdReader reads requests as net/http's server does: its readRequest,
// then the server's own checks (version, Host, header names and values),
// and the CR and LF bytes it skips after a POST.
type stdReader struct {
	br       *bufio.Reader
	lastPOST bool
}

func (s *stdReader) read() (*http.Request, error) {
	if s.lastPOST {
		peek, _ := s.br.Peek(4)
		n := 0
		for n < len(peek) && (peek[n] == '\r' || peek[n] == '\n') {
			n++
		}
		_, _ = s.br.Discard(n)
	}
	r, err := readRequest(s.br)
	if err != nil {
		return nil, err
	}
	s.lastPOST = r.Method == http.MethodPost
	if r.ProtoMajor != 1 {
		return nil, errors.New("unsupported protocol version") // PRI is h2, handled before parsing
	}
	hosts, ok := r.Header["Host"]
	if r.ProtoAtLeast(1, 1) && (!ok || len(hosts) == 0) && r.Method != http.MethodConnect {
		return nil, errors.New("missing required Host header")
	}
	if len(hosts) == 1 && !httpguts.ValidHostHeader(hosts[0]) {
		return nil, errors.New("malformed Host header")
	}
	for k, vv := range r.Header {
		if !httpguts.ValidHeaderFieldName(k) {
			return nil, errors.New("invalid header name")
		}
		for _, v := range vv {
			if !httpguts.ValidHeaderFieldValue(v) {
				return nil, errors.New("invalid header value")
			}
		}
	}
	delete(r.Header, "Host")
	if ex := r.Header["Expect"]; len(ex) > 0 && !httpguts.HeaderValuesContainsToken(ex[:1], "100-continue") {
		return nil, errors.New("unsupported expectation") // net/http answers 417 before the handler
	}
	return r, nil
}

// parsed is what a proxy takes from a request head.
type parsed struct {
	Method, RequestURI, Proto string
	ProtoMinor                int
	URL                       url.URL
	Host                      string
	Header, Trailer           http.Header
	ContentLength             int64
	TransferEncoding          []string
	Close, NoBody             bool
}

func parsedOf(r *http.Request) parsed {
	return parsed{r.Method, r.RequestURI, r.Proto, r.ProtoMinor, *r.URL, r.Host,
		r.Header, r.Trailer, r.ContentLength, r.TransferEncoding, r.Close, r.Body == http.NoBody}
}

// forbiddenTrailers are the trailer fields h1server drops (RFC 9110
// section 6.5.1) where net/http keeps them.
var forbiddenTrailers = []string{"Content-Length", "Transfer-Encoding", "Host", "Trailer"}

// strictRefusal reports whether a refusal of h1server where net/http took
// the request is one of the documented strict cases (doc.go), with a
// witness in the input for each: raw is the input from the start of the
// request.
func strictRefusal(se *statusError, raw []byte, std *http.Request) bool {
	lower := bytes.ToLower(raw)
	switch se.msg {
	case "bare LF line end":
		return bytes.Contains(bytes.ReplaceAll(raw, []byte("\r\n"), nil), []byte("\n"))
	case "obsolete line folding":
		return bytes.Contains(raw, []byte("\n ")) || bytes.Contains(raw, []byte("\n\t"))
	case "both Transfer-Encoding and Content-Length":
		return std != nil && len(std.TransferEncoding) > 0 && bytes.Contains(lower, []byte("content-length"))
	case "Transfer-Encoding in an HTTP/1.0 request":
		return std != nil && std.ProtoMinor == 0 && bytes.Contains(lower, []byte("transfer-encoding"))
	case "unsupported protocol version":
		return std != nil && std.Proto != "HTTP/1.0" && std.Proto != "HTTP/1.1"
	case "unsupported expectation":
		return std != nil && len(std.Header["Expect"]) > 0
	case "malformed request line":
		return std != nil && std.RequestURI == ""
	case "malformed chunk size", "chunk size too large", "malformed chunked encoding", "malformed trailer":
		return std != nil && len(std.TransferEncoding) > 0
	}
	return false
}

// diffRequests reads in as a stream of requests with h1server's parser
// and with net/http's, and fails t at the first difference: h1server
// took a request net/http refuses, or read it differently (head, body,
// trailers, or where the next request starts), or refused one net/http
// takes outside the documented strict cases. It returns how many requests
// both read alike.
func diffRequests(t *testing.T, in []byte) int {
	t.Helper()
	s := &Server{Handler: http.NotFoundHandler(), MaxHeaderBytes: 1 << 20}
	c := s.newConn(&memConn{r: bytes.NewReader(nil)})
	hr := bytes.NewReader(in)
	c.br = bufio.NewReaderSize(hr, bufSize)
	c.bw = bufio.NewWriter(io.Discard)
	sr := bytes.NewReader(in)
	std := &stdReader{br: bufio.NewReaderSize(sr, 64<<10)}
	consumed := func(r *bytes.Reader, br *bufio.Reader) int { return len(in) - r.Len() - br.Buffered() }
	for n := 0; n < maxDiffRequests; n++ {
		at := consumed(hr, c.br)
		if at == len(in) {
			return n
		}
		_, hreq, herr := c.readRequest()
		sreq, serr := std.read()
		if herr != nil {
			if serr == nil && !allowedRefusal(herr, in[at:], sreq) {
				t.Fatalf("request %d %q: h1server refuses (%v), net/http takes it: %+v", n, in[at:], herr, parsedOf(sreq))
			}
			return n
		}
		if serr != nil {
			t.Fatalf("request %d %q: h1server takes it, net/http refuses: %v\nh1server: %+v", n, in[at:], serr, parsedOf(hreq))
		}
		if g, w := parsedOf(hreq), parsedOf(sreq); !reflect.DeepEqual(g, w) {
			t.Fatalf("request %d %q: heads differ\nh1server %+v\nnet/http %+v", n, in[at:], g, w)
		}
		hb, hberr := io.ReadAll(hreq.Body)
		sb, sberr := io.ReadAll(sreq.Body)
		if hberr != nil {
			if sberr == nil && !allowedRefusal(hberr, in[at:], sreq) {
				t.Fatalf("request %d %q: h1server refuses the body (%v), net/http reads %q", n, in[at:], hberr, sb)
			}
			return n
		}
		if sberr != nil {
			t.Fatalf("request %d %q: h1server reads the body %q, net/http refuses it: %v", n, in[at:], hb, sberr)
		}
		if !bytes.Equal(hb, sb) {
			t.Fatalf("request %d %q: body %q, net/http %q", n, in[at:], hb, sb)
		}
		ht, st := hreq.Trailer.Clone(), sreq.Trailer.Clone()
		for _, k := range forbiddenTrailers {
			if ht != nil {
				delete(ht, k)
			}
			if st != nil {
				delete(st, k)
			}
		}
		if len(ht) > 0 || len(st) > 0 {
			if !reflect.DeepEqual(ht, st) {
				t.Fatalf("request %d %q: trailers %q, net/http %q", n, in[at:], ht, st)
			}
		}
		if h, s := consumed(hr, c.br), consumed(sr, std.br); h != s {
			t.Fatalf("request %d %q: the next request starts at %d, net/http %d", n, in[at:], h, s)
		}
	}
	return maxDiffRequests
}

func allowedRefusal(err error, raw []byte, std *http.Request) bool {
	var se *statusError
	if !errors.As(err, &se) {
		return false // an EOF or read error where net/http took the request
	}
	return strictRefusal(se, raw, std)
}

// FuzzParseDifferential holds h1server's request parser to net/http's
// (see diffRequests).
func FuzzParseDifferential(f *testing.F) {
	f.Add([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")) // more in testdata/fuzz/FuzzParseDifferential
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 32<<10 {
			return // inside both parsers' buffer limits
		}
		diffRequests(t, in)
	})
}

// TestParseDifferential checks that the usual requests are read alike
// (not merely refused by both).
func TestParseDifferential(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want int
	}{
		{"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 1},
		{"POST /a?b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.0\r\n\r\n", 2},
		{"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTrailer: X\r\n\r\n3;e=1\r\nabc\r\n0\r\nX: 1\r\n\r\nGET / HTTP/1.1\r\nHost: y\r\n\r\n", 2},
		{"GET http://a/b?c HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-A: 1\r\nx-a: 2\r\n\r\n", 1},
		{"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", 1},
		{"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", 1},
		{"GET /%7e/a%2fb HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 1},
		{"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", 1},
	} {
		if got := diffRequests(t, []byte(tc.raw)); got != tc.want {
			t.Errorf("%q: %d requests read alike, want %d", tc.raw, got, tc.want)
		}
	}
}
