package proxy

import (
	"bytes"
	"io"
	"net/http"
	"strings"

	"github.com/turnout-gw/turnout/internal/httperr"
)

// preread reads out's body whole before any upstream is chosen, as nginx
// does with client_body_buffer_size, when it is at most bound bytes
// (limits.fallback_body): a declared Content-Length up to the bound, and a
// body of unknown length (chunked, or HTTP/2 without content-length) that
// ends within it. The body's framing and completeness are thus checked
// first: a body cut short, one with bad chunk framing, one too slow
// (limits.request_body_timeout) or over limits.max_request_body_bytes is
// answered 400/408/413 (or 499 for a client gone) as the client's failure
// and never reaches an upstream, and a slow client never holds an
// upstream connection (max_connections) while it sends. The body kept is
// replayable (GetBody): the lean HTTP/1.1 client sends it, and a request
// the upstream cannot have received may be sent again under internal/
// upstream's rules (a non-idempotent one only when none of its bytes was
// written).
//
// It returns the body kept, nil when it streams: no body, a declared
// length over the bound, a body of unknown length that turned out longer
// (what was read goes first, then the rest, as it arrives) or a stream
// (see Streamed). It runs on the request's goroutine before the attempt,
// so the attempt's latency does not include the client's sending time.
func preread(x *exchange, out *http.Request) ([]byte, error) {
	bound := x.snap.FallbackBody
	if out.Body == nil || out.Body == http.NoBody || bound <= 0 || out.ContentLength > bound || Streamed(x.in) {
		return nil, nil
	}
	if b, ok := kept(out.Body); ok && int64(len(b)) <= bound {
		setBody(out, b) // read whole to decide (bodypin.go): not read again
		return b, nil
	}
	b, err := readBounded(out.Body, out.ContentLength, bound)
	if err != nil {
		return nil, httperr.ClientBody(err)
	}
	if int64(len(b)) > bound {
		out.Body = readCloser{io.MultiReader(bytes.NewReader(b), out.Body), out.Body}
		return nil, nil
	}
	_ = out.Body.Close()
	setBody(out, b)
	return b, nil
}

// firstAlloc caps the buffer preread allocates before the body's bytes
// arrive: a declared length is not trusted with memory it has not sent.
const firstAlloc = 8 << 10

// readBounded reads r to its end or to more than bound bytes, whichever
// comes first, into a buffer that grows as the bytes arrive. declared is
// the body's declared length, -1 when unknown. Reading to the end (io.EOF)
// matters: the request body timeout's deadline is lifted there.
func readBounded(r io.Reader, declared, bound int64) ([]byte, error) {
	n := int64(bytes.MinRead)
	if declared > 0 {
		n += min(declared, firstAlloc)
	}
	buf := bytes.NewBuffer(make([]byte, 0, n))
	_, err := buf.ReadFrom(io.LimitReader(r, bound+1))
	return buf.Bytes(), err
}

// Streamed reports whether r's body is a stream that must flow as it comes
// and is never pre-read: a gRPC call of any kind (full duplex) or a
// protocol upgrade. The gateway gives these no body timeout and no write
// timeout either.
func Streamed(r *http.Request) bool {
	if v := r.Header["Upgrade"]; len(v) > 0 && v[0] != "" {
		return true
	}
	ct := r.Header["Content-Type"]
	const p = "application/grpc"
	return len(ct) > 0 && len(ct[0]) >= len(p) && strings.EqualFold(ct[0][:len(p)], p)
}

// setBody makes b r's replayable body. A body whose client declared
// trailers keeps its chunked framing, so that they are sent on; every
// other one is sent with its Content-Length.
func setBody(r *http.Request, b []byte) {
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	if len(r.Trailer) > 0 {
		r.Body = io.NopCloser(bytes.NewReader(b))
		r.ContentLength = -1
		return
	}
	r.TransferEncoding = nil
	r.ContentLength = int64(len(b))
	if len(b) == 0 {
		r.Body = http.NoBody
		r.GetBody = func() (io.ReadCloser, error) { return http.NoBody, nil }
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
}

// readCloser reads from Reader and closes Closer.
type readCloser struct {
	io.Reader
	io.Closer
}
