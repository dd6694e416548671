package upstream

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// answer is a response read by readPlainResponse and its body, allocated
// together.
type answer struct {
	resp http.Response
	body h1Body
	vals [12]string // the header values of most answers
}

// readPlainResponse reads the head of the common answer: HTTP/1.1, a final
// status, the whole head already in br's buffer, CRLF line ends, plain
// header lines, and a body delimited by one Content-Length (or none at
// all, for HEAD, 204 and 304). It builds what http.ReadResponse would
// build for it, with a third of the allocations: one string for the head,
// one slab for the values, the map, and the answer.
//
// Anything else (1xx, chunked or close-delimited bodies, trailers, folded
// lines, bare LF, an odd Content-Length, Pragma without Cache-Control)
// returns ok false having consumed nothing, and the caller reads the
// answer with http.ReadResponse, so net/http's rules stay the only rules
// for the rare cases. FuzzPlainResponse checks the two agree.
func readPlainResponse(br *bufio.Reader, req *http.Request) (a *answer, ok bool) {
	buf, _ := br.Peek(br.Buffered())
	end := bytes.Index(buf, crlfcrlf)
	if end < 0 || len(buf) < 16 || string(buf[:9]) != "HTTP/1.1 " {
		return nil, false
	}
	code, ok := statusCode(buf[9:12])
	if !ok || code < 200 || (len(buf) > 12 && buf[12] != ' ' && buf[12] != '\r') {
		return nil, false
	}
	lines := 0
	for _, c := range buf[:end+2] {
		if c == '\n' {
			lines++
		}
	}
	s := string(buf[:end+2]) // the status line and every header line, each ending in CRLF
	eol := indexCRLF(s, 0)
	if eol < 0 {
		return nil, false
	}
	a = &answer{}
	r := &a.resp
	r.Status, r.StatusCode, r.Proto, r.ProtoMajor, r.ProtoMinor = s[9:eol], code, "HTTP/1.1", 1, 1
	r.Request = req
	hdr := make(http.Header, lines-1)
	strs := a.vals[:]
	if lines-1 > len(a.vals) {
		strs = make([]string, lines-1)
	}
	for at := eol + 2; at < len(s); {
		e := indexCRLF(s, at)
		if e < 0 {
			return nil, false
		}
		line := s[at:e]
		at = e + 2
		colon := strings.IndexByte(line, ':')
		if colon <= 0 {
			return nil, false
		}
		key, ok := headerKey(line[:colon])
		if !ok {
			return nil, false
		}
		value, ok := headerValue(line[colon+1:])
		if !ok {
			return nil, false
		}
		if vv := hdr[key]; vv != nil {
			hdr[key] = append(vv, value)
			continue
		}
		vv := strs[:1:1]
		strs = strs[1:]
		vv[0] = value
		hdr[key] = vv
	}
	if _, ok := hdr["Transfer-Encoding"]; ok {
		return nil, false
	}
	if _, ok := hdr["Trailer"]; ok {
		return nil, false
	}
	if _, ok := hdr["Pragma"]; ok {
		return nil, false
	}
	cl := int64(-1)
	if v, ok := hdr["Content-Length"]; ok {
		if len(v) != 1 {
			return nil, false
		}
		if cl, ok = contentLength(v[0]); !ok {
			return nil, false
		}
	}
	if conn, ok := hdr["Connection"]; ok && httpguts.HeaderValuesContainsToken(conn, "close") {
		r.Close = true
		delete(hdr, "Connection")
	}
	r.Header = hdr
	switch {
	case req.Method == http.MethodHead:
		r.ContentLength = cl
	case code == http.StatusNoContent || code == http.StatusNotModified:
		r.ContentLength = 0
	case cl < 0:
		return nil, false // a body until the connection closes
	default:
		r.ContentLength = cl
		if cl > 0 {
			a.body.remain = cl
			r.Body = &a.body
		}
	}
	if r.Body == nil {
		r.Body = http.NoBody
	}
	_, _ = br.Discard(end + 4)
	return a, true
}

var crlfcrlf = []byte("\r\n\r\n")

func statusCode(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// indexCRLF is the index of the CR of the first CRLF in s from at; a CR or
// LF on its own gives -1.
func indexCRLF(s string, at int) int {
	for i := at; i < len(s); i++ {
		switch s[i] {
		case '\r':
			if i+1 < len(s) && s[i+1] == '\n' {
				return i
			}
			return -1
		case '\n':
			return -1
		}
	}
	return -1
}

// headerKey checks that k is a token and returns its canonical form,
// without allocating when it is canonical already.
func headerKey(k string) (string, bool) {
	upper := true
	canonical := true
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !httpguts.IsTokenRune(rune(c)) {
			return "", false
		}
		if upper && 'a' <= c && c <= 'z' || !upper && 'A' <= c && c <= 'Z' {
			canonical = false
		}
		upper = c == '-'
	}
	if canonical {
		return k, true
	}
	return http.CanonicalHeaderKey(k), true
}

// headerValue trims v's spaces and tabs and checks its bytes as textproto
// does: VCHAR, SP, HTAB and obs-text.
func headerValue(v string) (string, bool) {
	for len(v) > 0 && (v[0] == ' ' || v[0] == '\t') {
		v = v[1:]
	}
	for len(v) > 0 && (v[len(v)-1] == ' ' || v[len(v)-1] == '\t') {
		v = v[:len(v)-1]
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return "", false
		}
	}
	return v, true
}

// contentLength parses a Content-Length of digits only, as net/http
// accepts it.
func contentLength(v string) (int64, bool) {
	if v == "" || len(v) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// readRemain reads the rest of a Content-Length body from br into p: the
// final bytes come with io.EOF, and an early end is io.ErrUnexpectedEOF,
// as net/http's body reports it.
func readRemain(br *bufio.Reader, remain *int64, p []byte) (int, error) {
	if *remain <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > *remain {
		p = p[:*remain]
	}
	n, err := br.Read(p)
	*remain -= int64(n)
	switch {
	case *remain == 0:
		return n, io.EOF
	case err == io.EOF:
		return n, io.ErrUnexpectedEOF
	}
	return n, err
}
