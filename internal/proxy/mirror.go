package proxy

import (
	"errors"
	"io"
	"net/http"

	"github.com/turnout-gw/turnout/internal/route"
)

// Mirror is the data plane's hand-off to shadow traffic (internal/mirror).
// Only requests on the direct path are offered: WebSocket upgrades and gRPC
// calls are never mirrored.
type Mirror interface {
	// Start is called on the request's goroutine once the request was
	// routed and the outbound request out is ready to be sent to d's
	// version. It returns nil when the request is not mirrored; that
	// answer must be cheap. When it mirrors, it may replace out.Body (and
	// out.ContentLength) with a buffered copy of the same bytes. d is only
	// valid during the call.
	Start(out *http.Request, d *route.Decision) MirrorTap
}

// MirrorTap follows one mirrored request through its primary exchange.
// Its methods are called on the request's goroutine and must never block.
type MirrorTap interface {
	// Response is called once the primary's answer arrived from served,
	// before Turnout adds its own headers; the returned body replaces
	// resp.Body and is what the client's answer is copied from.
	Response(resp *http.Response, served *route.Version) io.ReadCloser
	// Done ends the tap, exactly once: err is nil when the primary's answer
	// reached the client whole, otherwise why it did not.
	Done(err error)
}

// WithMirror offers every ordinary request to m (default: none, at no
// cost).
func WithMirror(m Mirror) Option {
	return func(h *Handler) error {
		if m == nil {
			return errors.New("proxy: nil mirror")
		}
		h.mirror = m
		return nil
	}
}
