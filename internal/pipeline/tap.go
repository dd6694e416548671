package pipeline

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/turnout-gw/turnout/internal/route"
)

// Tap is what an applier offers every ordinary request to: shadow traffic,
// response validation and deprecated-usage tracking all follow the
// primary's answer this way. Only requests on the direct path are offered:
// WebSocket upgrades and gRPC calls are not.
type Tap interface {
	// Start is called on the request's goroutine once the request was
	// routed and the outbound request out is ready to be sent to d's
	// version. It returns nil when the tap does not follow the request;
	// that answer must be cheap. It may replace out.Body (and
	// out.ContentLength) with a buffered copy of the same bytes. d is only
	// valid during the call.
	Start(out *http.Request, d *route.Decision) Exchange
}

// Exchange follows one request through its primary exchange. Its methods
// are called on the request's goroutine and must never block.
type Exchange interface {
	// Response is called once the primary's answer arrived from served,
	// before Turnout adds its own headers; the returned body replaces
	// resp.Body and is what the client's answer is copied from.
	Response(resp *http.Response, served *route.Version) io.ReadCloser
	// Done ends the exchange, exactly once: err is nil when the primary's
	// answer reached the client whole, otherwise why it did not.
	Done(err error)
}

// Tee copies a body as the client reads it, up to a bound. It belongs to
// one exchange and is not safe for concurrent use.
type Tee struct {
	rc  io.ReadCloser
	max int64
	// Buf is what was copied: the whole body, or its first max bytes when
	// Truncated.
	Buf       []byte
	Truncated bool
}

// Follow starts copying rc, whose length is length (-1 or 0: unknown), up
// to max bytes.
func (t *Tee) Follow(rc io.ReadCloser, length, max int64) {
	t.rc, t.max = rc, max
	if length > 0 {
		t.Buf = make([]byte, 0, min(length, max))
	}
}

// Following reports whether Follow was called.
func (t *Tee) Following() bool { return t.rc != nil }

// Read reads the body for the client and copies what it read, until the
// copy would outgrow max (it is then marked Truncated and stops growing).
func (t *Tee) Read(p []byte) (int, error) {
	n, err := t.rc.Read(p)
	if n > 0 && !t.Truncated {
		if room := int(t.max) - len(t.Buf); n > room {
			t.Buf = append(t.Buf, p[:room]...)
			t.Truncated = true
		} else {
			t.Buf = append(t.Buf, p[:n]...)
		}
	}
	return n, err
}

// Close closes the body.
func (t *Tee) Close() error { return t.rc.Close() }

// ErrNotGzip is returned (wrapped) by Gunzip for a body that does not start
// as a gzip stream.
var ErrNotGzip = errors.New("not a gzip stream")

// Gunzip returns the content of a gzip-encoded body, read up to max+1
// bytes: a result longer than max means the content is larger than max.
func Gunzip(body []byte, max int64) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotGzip, err)
	}
	out, err := io.ReadAll(io.LimitReader(zr, max+1))
	if err != nil {
		return nil, fmt.Errorf("decoding gzip: %w", err)
	}
	return out, nil
}
