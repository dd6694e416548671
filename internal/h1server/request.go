package h1server

import (
	"math"
	"net/http"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// chunkedTE is the shared, read-only TransferEncoding of chunked requests.
var chunkedTE = []string{"chunked"}

// readRequest reads and checks one request head and builds the request
// the handler gets, with its body and response writer. The request's
// context is the exchange's ctx, which the caller cancels.
func (c *conn) readRequest() (*exchange, *http.Request, error) {
	h, err := c.readHead()
	if err != nil {
		return nil, nil, err
	}
	x := new(exchange)
	hdr := make(http.Header, len(c.fields))
	c.header(hdr, x.vals[:0])
	if err := parseURI(h.method, h.uri, &x.url); err != nil {
		return nil, nil, err
	}
	host, err := requestHost(h, hdr)
	if err != nil {
		return nil, nil, err
	}
	if x.url.Host != "" {
		host = x.url.Host
	}
	cl, chunked, err := framing(h, hdr)
	if err != nil {
		return nil, nil, err
	}
	if p := hdr["Pragma"]; len(p) > 0 && p[0] == "no-cache" && hdr["Cache-Control"] == nil {
		hdr["Cache-Control"] = []string{"no-cache"} // HTTP/1.0's Pragma, as net/http reads it
	}
	conns := hdr["Connection"]
	keepAlive10 := h.minor == 0 && httpguts.HeaderValuesContainsToken(conns, "keep-alive")
	closeReq := h.minor == 0 && !keepAlive10 || len(conns) > 0 && httpguts.HeaderValuesContainsToken(conns, "close")
	expectCont := false
	if ex := hdr["Expect"]; len(ex) > 0 {
		if len(ex) != 1 || !strings.EqualFold(ex[0], "100-continue") {
			return nil, nil, &statusError{code: http.StatusExpectationFailed,
				msg: "unsupported expectation", reason: ReasonExpectation}
		}
		expectCont = h.minor == 1 && cl != 0
	}
	var trailer http.Header
	if tr, ok := hdr["Trailer"]; ok && chunked { // without a chunked body it stays a header, as in net/http
		delete(hdr, "Trailer")
		if trailer, err = declaredTrailers(tr); err != nil {
			return nil, nil, err
		}
	}

	x.ctx.parent = c.baseCtx
	tmpl := http.Request{
		Method: h.method, URL: &x.url, Proto: h.proto, ProtoMajor: 1, ProtoMinor: h.minor,
		Header: hdr, Body: http.NoBody, ContentLength: cl, Host: host, Trailer: trailer,
		RemoteAddr: c.remoteAddr, RequestURI: h.uri, TLS: c.tlsState, Close: closeReq,
	}
	if chunked {
		tmpl.TransferEncoding = chunkedTE
	}
	if chunked || cl > 0 {
		tmpl.Body = &x.body
	}
	r := tmpl.WithContext(&x.ctx)
	if c.whdr == nil {
		c.whdr = make(http.Header, 8)
	} else {
		clear(c.whdr)
	}
	x.w = response{c: c, req: r, hdr: c.whdr, cl: -1, minor: h.minor, keepAlive10: keepAlive10,
		closeAfter: closeReq, expectCont: expectCont}
	if r.Body != http.NoBody {
		x.body.br, x.body.req, x.body.chunked, x.body.budget = c.br, r, chunked, c.srv.maxHeaderBytes()
		if !chunked {
			x.body.remain = cl
		}
		if expectCont {
			x.body.w = &x.w
		}
	}
	return x, r, nil
}

// requestHost checks the Host header (one, valid, and present in
// HTTP/1.1 but for CONNECT) and removes it from hdr, as net/http does.
func requestHost(h head, hdr http.Header) (string, error) {
	hosts, ok := hdr["Host"]
	if !ok {
		if h.minor == 1 && h.method != http.MethodConnect {
			return "", badRequest("missing required Host header")
		}
		return "", nil
	}
	delete(hdr, "Host")
	if len(hosts) != 1 {
		return "", badRequest("too many Host headers")
	}
	if !httpguts.ValidHostHeader(hosts[0]) {
		return "", badRequest("malformed Host header")
	}
	return hosts[0], nil
}

// framing decides how the request body is delimited and refuses every
// ambiguous combination: Transfer-Encoding with Content-Length, in
// HTTP/1.0, or other than exactly "chunked"; differing or malformed
// Content-Length values.
func framing(h head, hdr http.Header) (cl int64, chunked bool, err error) {
	te, hasTE := hdr["Transfer-Encoding"]
	cls := hdr["Content-Length"]
	if hasTE {
		switch {
		case len(cls) > 0:
			return 0, false, badFraming("both Transfer-Encoding and Content-Length")
		case h.minor == 0:
			return 0, false, badFraming("Transfer-Encoding in an HTTP/1.0 request")
		case len(te) != 1 || !strings.EqualFold(te[0], "chunked"):
			return 0, false, badFraming("unsupported Transfer-Encoding")
		}
		delete(hdr, "Transfer-Encoding")
		return -1, true, nil
	}
	if len(cls) == 0 {
		return 0, false, nil
	}
	for _, v := range cls[1:] {
		if v != cls[0] {
			return 0, false, badFraming("differing Content-Length values")
		}
	}
	n, ok := parseLength(cls[0])
	if !ok {
		return 0, false, badFraming("malformed Content-Length")
	}
	if len(cls) > 1 {
		hdr["Content-Length"] = cls[:1]
	}
	return n, false, nil
}

// parseLength parses a Content-Length as net/http does: decimal digits
// only, leading zeros allowed, at most math.MaxInt64.
func parseLength(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		d := int64(s[i] - '0')
		if n > (math.MaxInt64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// declaredTrailers is the request's Trailer map: the declared names with
// no values yet (the body's end fills them). Like net/http, it refuses a
// declaration of Content-Length, Transfer-Encoding or Trailer.
func declaredTrailers(decl []string) (http.Header, error) {
	var t http.Header
	for _, v := range decl {
		for k := range strings.SplitSeq(v, ",") {
			k = http.CanonicalHeaderKey(trimSpace(k))
			switch k {
			case "":
				continue
			case "Content-Length", "Transfer-Encoding", "Trailer":
				return nil, badRequest("bad trailer key")
			}
			if t == nil {
				t = make(http.Header)
			}
			t[k] = nil
		}
	}
	return t, nil
}

// trimSpace trims the spaces and tabs around a list element, as net/http
// does (strings.TrimSpace would also trim non-ASCII spaces).
func trimSpace(s string) string {
	return strings.Trim(s, " \t")
}
