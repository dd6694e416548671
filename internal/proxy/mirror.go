package proxy

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/turnout-gw/turnout/internal/pipeline"
	"github.com/turnout-gw/turnout/internal/route"
)

// MaxTaps is how many hooks (WithMirror, WithTap) a Handler takes.
const MaxTaps = 4

// WithMirror offers every ordinary request to m, the shadow traffic's tap
// (internal/mirror; default: none, at no cost).
func WithMirror(m pipeline.Tap) Option { return WithTap(m) }

// WithTap offers every ordinary request to t as well, after the hooks given
// before it: any feature that follows the primary's answer as it streams to
// the client (shadow traffic, response validation, deprecated-usage
// tracking) is a pipeline.Tap. Each hook that starts gets its own
// pipeline.Exchange; their Response methods are called in the order the hooks were
// given, each wrapping the body the previous one returned, so every tap
// reads what the client gets.
func WithTap(t pipeline.Tap) Option {
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

// taps are the exchanges one request started, without allocating.
type taps struct {
	list [MaxTaps]pipeline.Exchange
	n    int
}

// start offers the outbound request to every hook.
func (ts *taps) start(hooks []pipeline.Tap, out *http.Request, d *route.Decision) {
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
