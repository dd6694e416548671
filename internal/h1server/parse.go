package h1server

import (
	"bufio"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// Reason is the kind of a request the server refuses itself, given to
// Server.Refused so that callers count refusals without reading messages.
type Reason uint8

const (
	// ReasonMalformed is a head that breaks the syntax: request line,
	// header names and values, folded or bare-LF lines, Host.
	ReasonMalformed Reason = iota
	// ReasonFraming is an ambiguous or malformed body length:
	// Content-Length with Transfer-Encoding, differing or malformed
	// Content-Length values, a Transfer-Encoding other than one "chunked"
	// or in HTTP/1.0 (400).
	ReasonFraming
	// ReasonHeaderTooLarge is a head over MaxHeaderBytes (431).
	ReasonHeaderTooLarge
	// ReasonVersion is an HTTP version other than 1.0 and 1.1 (505).
	ReasonVersion
	// ReasonExpectation is an Expect other than 100-continue (417).
	ReasonExpectation
)

var reasonNames = [...]string{"malformed", "framing", "header_too_large", "version", "expectation"}

func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "unknown"
}

// statusError is a request the server answers itself, then closes the
// connection.
type statusError struct {
	code   int
	msg    string
	reason Reason
}

func (e *statusError) Error() string { return e.msg }

func badRequest(msg string) error { return &statusError{code: http.StatusBadRequest, msg: msg} }

// badFraming refuses a request whose body length is ambiguous.
func badFraming(msg string) error {
	return &statusError{code: http.StatusBadRequest, msg: msg, reason: ReasonFraming}
}

var errHeaderTooLarge = &statusError{code: http.StatusRequestHeaderFieldsTooLarge,
	msg: "request header fields too large", reason: ReasonHeaderTooLarge}

// field is one parsed header line: the key (interned, or an offset range
// in the header block) and the value's range in the header block.
type field struct {
	key    string
	ks, ke int
	vs, ve int
}

// head is a parsed request head, before it becomes an *http.Request.
type head struct {
	method, uri string
	proto       string
	minor       int
}

// readLine returns the next line without its line ending (CRLF or LF),
// charging it to the header budget c.left. The slice is valid until the
// next read.
func (c *conn) readLine() ([]byte, error) {
	line, err := c.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		c.long = append(c.long[:0], line...)
		for err == bufio.ErrBufferFull {
			if len(c.long) > c.left {
				return nil, errHeaderTooLarge
			}
			line, err = c.br.ReadSlice('\n')
			c.long = append(c.long, line...)
		}
		line = c.long
	}
	c.left -= len(line)
	if c.left < 0 {
		return nil, errHeaderTooLarge
	}
	if err != nil {
		return nil, err
	}
	return trimCRLF(line)
}

// trimCRLF removes a line's CRLF; a bare LF is refused, like the framing
// guard does (a peer that ends lines differently could frame differently).
func trimCRLF(line []byte) ([]byte, error) {
	n := len(line)
	if n < 2 || line[n-2] != '\r' {
		return nil, badRequest("bare LF line end")
	}
	return line[:n-2], nil
}

// readHead reads the request line and header section into c.block (the
// raw bytes the strings will point into) and c.fields.
func (c *conn) readHead() (head, error) {
	var h head
	c.left = c.srv.maxHeaderBytes()
	if c.lastPOST { // like net/http, up to 4 CR or LF an old client sends after a POST body
		b, _ := c.br.Peek(4)
		n := 0
		for n < len(b) && (b[n] == '\r' || b[n] == '\n') {
			n++
		}
		_, _ = c.br.Discard(n)
	}
	line, err := c.readLine()
	if err != nil {
		return h, err
	}
	c.block = append(c.block[:0], line...)
	n := len(c.block)
	c.fields = c.fields[:0]
	for {
		line, err := c.readLine()
		if err != nil {
			if err == errHeaderTooLarge {
				return h, err
			}
			return h, errUnexpectedEOF(err)
		}
		if len(line) == 0 {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			return h, badRequest("obsolete line folding")
		}
		colon := -1
		for i, b := range line {
			if b == ':' {
				colon = i
				break
			}
		}
		if colon <= 0 {
			return h, badRequest("malformed header line")
		}
		f := field{}
		name := line[:colon]
		if !canonicalize(name) {
			return h, badRequest("invalid header name")
		}
		if k, ok := commonKeys[string(name)]; ok {
			f.key = k
		} else {
			f.ks = len(c.block)
			c.block = append(c.block, name...)
			f.ke = len(c.block)
		}
		v := trimOWS(line[colon+1:])
		if !validValue(v) {
			return h, badRequest("invalid header value")
		}
		f.vs = len(c.block)
		c.block = append(c.block, v...)
		f.ve = len(c.block)
		c.fields = append(c.fields, f)
	}
	h, err = c.parseRequestLine(n)
	c.lastPOST = err == nil && h.method == http.MethodPost
	return h, err
}

// parseRequestLine splits c.block[:n], the request line, into method,
// target and version; c.str must already hold the block as a string.
func (c *conn) parseRequestLine(n int) (head, error) {
	var h head
	c.str = string(c.block)
	line := c.str[:n]
	sp1 := strings.IndexByte(line, ' ')
	if sp1 <= 0 {
		return h, badRequest("malformed request line")
	}
	rest := line[sp1+1:]
	sp2 := strings.IndexByte(rest, ' ')
	if sp2 <= 0 {
		return h, badRequest("malformed request line")
	}
	h.method, h.uri, h.proto = line[:sp1], rest[:sp2], rest[sp2+1:]
	for i := 0; i < len(h.method); i++ {
		if !isToken[h.method[i]] {
			return h, badRequest("invalid method")
		}
	}
	for i := 0; i < len(h.uri); i++ {
		if b := h.uri[i]; b <= ' ' || b == 0x7f {
			return h, badRequest("invalid request target")
		}
	}
	switch h.proto {
	case "HTTP/1.1":
		h.minor = 1
	case "HTTP/1.0":
		h.minor = 0
	default:
		if strings.HasPrefix(h.proto, "HTTP/") {
			return h, &statusError{code: http.StatusHTTPVersionNotSupported,
				msg: "unsupported protocol version", reason: ReasonVersion}
		}
		return h, badRequest("malformed HTTP version")
	}
	return h, nil
}

// errUnexpectedEOF turns an EOF in the middle of a head into a 400.
// Refusals and timeouts pass as they are.
func errUnexpectedEOF(err error) error {
	var se *statusError
	if errors.As(err, &se) {
		return err
	}
	var ne interface{ Timeout() bool }
	if errors.As(err, &ne) && ne.Timeout() {
		return err
	}
	return badRequest("incomplete request head")
}

// header fills hdr from c.fields, with values as substrings of c.str, in
// slices of strs's array when it has room for them all.
func (c *conn) header(hdr http.Header, strs []string) {
	if len(c.fields) == 0 {
		return
	}
	if cap(strs) >= len(c.fields) {
		strs = strs[:len(c.fields)]
	} else {
		strs = make([]string, len(c.fields))
	}
	for i := range c.fields {
		f := &c.fields[i]
		k := f.key
		if k == "" {
			k = c.str[f.ks:f.ke]
		}
		strs[i] = c.str[f.vs:f.ve]
		if vv, ok := hdr[k]; ok {
			hdr[k] = append(vv, strs[i])
		} else {
			hdr[k] = strs[i : i+1 : i+1]
		}
	}
}

// canonicalize checks that b is a token and rewrites it in place to the
// canonical MIME header key form (textproto.CanonicalMIMEHeaderKey).
func canonicalize(b []byte) bool {
	upper := true
	for i, c := range b {
		if !isToken[c] {
			return false
		}
		if upper && 'a' <= c && c <= 'z' {
			b[i] = c - ('a' - 'A')
		} else if !upper && 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
		upper = c == '-'
	}
	return true
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// validValue reports whether a header value has no control characters
// but tab (RFC 9110 section 5.5; obs-text is allowed).
func validValue(v []byte) bool {
	for _, b := range v {
		if b < ' ' && b != '\t' || b == 0x7f {
			return false
		}
	}
	return true
}

// isToken marks the tchar bytes of RFC 9110 section 5.6.2.
var isToken = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = httpguts.IsTokenRune(rune(c)) && c < 0x80
	}
	return t
}()

// commonKeys interns the canonical form of frequent header names, so
// parsing them allocates nothing.
var commonKeys = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{
		"Accept", "Accept-Charset", "Accept-Encoding", "Accept-Language", "Authorization",
		"Cache-Control", "Connection", "Content-Encoding", "Content-Length", "Content-Type",
		"Cookie", "Date", "Expect", "Forwarded", "Host", "If-Match", "If-Modified-Since",
		"If-None-Match", "Keep-Alive", "Origin", "Pragma", "Range", "Referer", "Te", "Trailer",
		"Transfer-Encoding", "Upgrade", "User-Agent", "Via", "X-Api-Version", "X-Canary",
		"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Real-Ip", "X-Request-Id",
		"Traceparent", "Tracestate", "Grpc-Timeout", "Grpc-Encoding", "Grpc-Accept-Encoding",
		"Sec-Websocket-Key", "Sec-Websocket-Version", "Sec-Websocket-Extensions", "Sec-Websocket-Protocol",
		"Http2-Settings", "Accept-Version", "Api-Version",
	} {
		m[k] = k
	}
	return m
}()

// parseURI parses a request target the way url.ParseRequestURI does (and
// net/http's server for CONNECT), without allocating for the common
// origin-form paths.
func parseURI(method, uri string, u *url.URL) error {
	if uri == "" {
		return badRequest("empty request target")
	}
	if uri[0] == '/' {
		path, query, hasQ := strings.Cut(uri, "?")
		if plainPath(path) {
			*u = url.URL{Path: path, RawQuery: query, ForceQuery: hasQ && query == ""}
			return nil
		}
	}
	raw := uri
	justAuthority := method == "CONNECT" && uri[0] != '/'
	if justAuthority {
		raw = "http://" + uri
	}
	p, err := url.ParseRequestURI(raw)
	if err != nil {
		return badRequest("malformed request target")
	}
	if justAuthority {
		p.Scheme = ""
	}
	*u = *p
	return nil
}

// plainPath reports whether p needs no unescaping and escapes to itself,
// so that url.URL{Path: p} is what url.ParseRequestURI would produce.
func plainPath(p string) bool {
	for i := 0; i < len(p); i++ {
		if !isPlain[p[i]] {
			return false
		}
	}
	return true
}

var isPlain = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "-._~/$&+,:;=@" {
		t[c] = true
	}
	return t
}()

// HTTPStatus is the status the refusal is answered with; the proxy reads
// it from a body read error (httperr.ClientBody).
func (e *statusError) HTTPStatus() int { return e.code }
