package proxy

import (
	"errors"
	"fmt"
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

// MaxTaps is how many hooks (WithMirror, WithTap) a Handler takes.
const MaxTaps = 4

// WithMirror offers every ordinary request to m (default: none, at no
// cost).
func WithMirror(m Mirror) Option { return WithTap(m) }

// WithTap offers every ordinary request to t as well, after the hooks given
// before it: any feature that follows the primary's answer as it streams to
// the client (shadow traffic, response validation, deprecated-usage
// tracking) takes the Mirror interface. Each hook that starts gets its own
// MirrorTap; their Response methods are called in the order the hooks were
// given, each wrapping the body the previous one returned, so every tap
// reads what the client gets.
func WithTap(t Mirror) Option {
	return func(h *Handler) error {
		if t == nil {
			return errors.New("proxy: nil tap")
		}
		if len(h.taps) == MaxTaps {
			return fmt.Errorf("proxy: more than %d taps", MaxTaps)
		}
		h.taps = append(h.taps, t)
		return nil
	}
}

// taps are the MirrorTaps one request started, without allocating.
type taps struct {
	list [MaxTaps]MirrorTap
	n    int
}

// start offers the outbound request to every hook.
func (ts *taps) start(hooks []Mirror, out *http.Request, d *route.Decision) {
	for _, m := range hooks {
		if t := m.Start(out, d); t != nil {
			ts.list[ts.n] = t
			ts.n++
		}
	}
}

// response lets every tap follow the answer's body.
func (ts *taps) response(resp *http.Response, served *route.Version) {
	for _, t := range ts.list[:ts.n] {
		resp.Body = t.Response(resp, served)
	}
}

// done ends every tap.
func (ts *taps) done(err error) {
	for _, t := range ts.list[:ts.n] {
		t.Done(err)
	}
}
