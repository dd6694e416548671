package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"net/url"
	"os"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// direct reports whether r takes the direct path: everything but protocol
// upgrades (WebSocket) and gRPC, which keep httputil.ReverseProxy and its
// handling of 101 answers, full-duplex streams and trailers-only errors.
func direct(r *http.Request) bool {
	if v := r.Header["Upgrade"]; len(v) > 0 && v[0] != "" {
		return false
	}
	return !isGRPC(r)
}

// serveDirect proxies an ordinary request without httputil.ReverseProxy,
// with the same semantics: hop-by-hop headers dropped both ways, the
// X-Forwarded-* headers set, 1xx answers and trailers forwarded, a body
// that fails midway aborts the client's response. What it saves is the
// per-request header clone and context plumbing: the client's header map
// is sent as it is unless it carries hop-by-hop headers.
//
// It reports whether the response must be aborted (http.ErrAbortHandler)
// once the request has been accounted for.
func (h *Handler) serveDirect(w http.ResponseWriter, r *http.Request, x *exchange, ctx context.Context) (abort bool) {
	x.w = w
	out := r.WithContext(httptrace.WithClientTrace(ctx, &x.trace))
	x.url = *r.URL
	out.URL = &x.url
	if x.d.Path != r.URL.Path {
		out.URL.Path = x.d.Path
		out.URL.RawPath = ""
	}
	out.URL.RawQuery = cleanQuery(out.URL.RawQuery)
	out.RequestURI = ""
	out.Close = false
	if r.ContentLength == 0 {
		out.Body = nil
	}
	out.Header = outboundHeader(r, x)
	var tap taps
	tap.start(h.taps, out, &x.d)

	resp, err := h.send(x, out)
	x.mu.Lock()
	x.rtDone = true
	x.mu.Unlock()
	if err != nil {
		tap.done(err)
		return h.fail(w, out, x, err) // a client gone mid-request gets no answer on a kept connection
	}
	removeHopByHop(resp.Header)
	tap.response(resp, x.served)
	h.prepare(x, resp)
	dst := w.Header()
	for k, vv := range resp.Header {
		if cur, ok := dst[k]; ok {
			dst[k] = append(cur, vv...)
		} else {
			dst[k] = vv
		}
	}
	announced := len(resp.Trailer)
	if announced > 0 {
		keys := make([]string, 0, announced)
		for k := range resp.Trailer {
			keys = append(keys, k)
		}
		dst["Trailer"] = []string{strings.Join(keys, ", ")}
	}
	w.WriteHeader(resp.StatusCode)
	if err := copyBody(w, resp.Body, resp.ContentLength, flushEach(resp)); err != nil {
		_ = resp.Body.Close()
		tap.done(err)
		x.err = err
		if errors.Is(err, errWriteClient) && errors.Is(err, os.ErrDeadlineExceeded) {
			h.events.Limit(LimitWriteTimeout)
		}
		h.log.Info("response body failed midway", "service", x.d.Service.Name, "version", x.served.Name,
			"upstream", x.upstream, "error", err)
		return true
	}
	_ = resp.Body.Close() // populates resp.Trailer
	tap.done(nil)
	if len(resp.Trailer) > 0 {
		http.NewResponseController(w).Flush() // force chunking so the trailers go out
	}
	if len(resp.Trailer) == announced {
		for k, vv := range resp.Trailer {
			dst[k] = vv
		}
		return false
	}
	for k, vv := range resp.Trailer {
		dst[http.TrailerPrefix+k] = vv
	}
	return false
}

// got1xx forwards an informational answer (103 Early Hints) to the client
// until the final answer has arrived.
func (x *exchange) got1xx(code int, header textproto.MIMEHeader) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.rtDone {
		return nil
	}
	h := x.w.Header()
	for k, vv := range header {
		h[k] = vv
	}
	x.w.WriteHeader(code)
	clear(h)
	return nil
}

// Shared read-only values of the headers every request gets.
var (
	protoHTTP  = []string{"http"}
	protoHTTPS = []string{"https"}
	noUA       = []string{""}
	teTrailers = []string{"trailers"}
)

// hopHeaders are the hop-by-hop headers a proxy must not forward (RFC 9110
// section 7.6.1, and the legacy ones net/http/httputil drops too).
var hopHeaders = []string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

func hasHopHeaders(h http.Header) bool {
	for _, k := range hopHeaders {
		if _, ok := h[k]; ok {
			return true
		}
	}
	return false
}

// removeHopByHop deletes the hop-by-hop headers and those the Connection
// header names.
func removeHopByHop(h http.Header) {
	if !hasHopHeaders(h) {
		return
	}
	for _, f := range h["Connection"] {
		for sf := range strings.SplitSeq(f, ",") {
			if sf = textproto.TrimString(sf); sf != "" {
				h.Del(sf)
			}
		}
	}
	for _, k := range hopHeaders {
		delete(h, k)
	}
}

// outboundHeader returns the header to send upstream: the client's own map
// (a copy only when hop-by-hop headers must go), with the client-supplied
// Forwarded and X-Forwarded-Host/Proto replaced by what Turnout saw and the
// client's address appended to X-Forwarded-For. The server does not read
// these headers after the request was parsed, so changing the client's map
// is safe; the Connection header it does read is never changed in place.
func outboundHeader(r *http.Request, x *exchange) http.Header {
	hdr := r.Header
	if hasHopHeaders(hdr) {
		hdr = hdr.Clone()
		removeHopByHop(hdr)
		if httpguts.HeaderValuesContainsToken(r.Header["Te"], "trailers") {
			hdr["Te"] = teTrailers
		}
	}
	delete(hdr, "Forwarded")
	dropUnforwarded(hdr, false) // the direct path serves no gRPC
	if ip, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		if prior := hdr["X-Forwarded-For"]; len(prior) > 0 {
			ip = strings.Join(prior, ", ") + ", " + ip
		}
		x.fwdFor[0] = ip
		hdr["X-Forwarded-For"] = x.fwdFor[:]
	} else {
		delete(hdr, "X-Forwarded-For")
	}
	x.fwdHost[0] = r.Host
	hdr["X-Forwarded-Host"] = x.fwdHost[:]
	if r.TLS == nil {
		hdr["X-Forwarded-Proto"] = protoHTTP
	} else {
		hdr["X-Forwarded-Proto"] = protoHTTPS
	}
	if _, ok := hdr["User-Agent"]; !ok {
		hdr["User-Agent"] = noUA // no Go default User-Agent
	}
	return hdr
}

// dropUnforwarded deletes the request headers Turnout does not forward:
// Expect (Turnout answers 100-continue itself, when the body is first read
// to be sent; an upstream that never answers 100 would otherwise cost each
// request the transport's one-second wait) and, but for gRPC calls (whose
// metadata keys may contain underscores and whose servers are not CGI),
// every header whose name contains an underscore, as nginx does by
// default: CGI, WSGI, PHP and Rack read X_Forwarded_For as
// X-Forwarded-For, so such a name would pass a forwarding or colour header
// that Turnout replaces or checks.
func dropUnforwarded(h http.Header, grpc bool) {
	delete(h, "Expect")
	if grpc {
		return
	}
	for k := range h {
		if strings.IndexByte(k, '_') >= 0 {
			delete(h, k)
		}
	}
}

// maxQueryParams is where net/http/httputil re-encodes a query too.
const maxQueryParams = 10000

// cleanQuery re-encodes a query with parameters a Go server cannot parse
// (';' separators, bad escapes), as httputil.ReverseProxy does, so that the
// upstream and Turnout's own rules read the same parameters.
func cleanQuery(s string) string {
	reencode := func(s string) string {
		v, _ := url.ParseQuery(s)
		return v.Encode()
	}
	if strings.Count(s, "&")+1 > maxQueryParams {
		return reencode(s)
	}
	for i := 0; i < len(s); {
		switch s[i] {
		case ';':
			return reencode(s)
		case '%':
			if i+2 >= len(s) || !ishex(s[i+1]) || !ishex(s[i+2]) {
				return reencode(s)
			}
			i += 3
		default:
			i++
		}
	}
	return s
}

func ishex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// flushEach reports whether each chunk of the body must be flushed as it
// arrives: a stream of unknown length or server-sent events.
func flushEach(resp *http.Response) bool {
	if resp.ContentLength == -1 {
		return true
	}
	ct := resp.Header["Content-Type"]
	if len(ct) == 0 || !strings.HasPrefix(strings.ToLower(ct[0]), "text/event-stream") {
		return false
	}
	base, _, _ := mime.ParseMediaType(ct[0])
	return base == "text/event-stream"
}

// errWriteClient marks copyBody's errors writing to the client (not
// reading from the upstream).
var errWriteClient = errors.New("writing to the client")

// copyBody copies the answer's body, of size bytes (-1: unknown), to the
// client with a pooled buffer: a small one for a small body, so that the
// buffers of the requests in flight do not weigh on the heap. An error
// either way is returned: the response is then aborted.
func copyBody(w http.ResponseWriter, body io.Reader, size int64, flush bool) error {
	pool := &buffers
	if size >= 0 && size <= smallBuffer {
		pool = &smallBuffers
	}
	bp := pool.Get().(*[]byte)
	defer pool.Put(bp)
	buf := *bp
	var rc *http.ResponseController
	if flush {
		rc = http.NewResponseController(w)
	}
	for {
		n, err := body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return fmt.Errorf("%w: %w", errWriteClient, werr)
			}
			if flush {
				_ = rc.Flush()
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
