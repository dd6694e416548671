package upstream

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/turnout-gw/turnout/internal/httperr"
)

// ErrAtCapacity is wrapped by the error of a request that found every
// target of its pool at max_connections. It carries status 503
// (httperr.StatusOf) and is answered at once: requests are not queued.
var ErrAtCapacity = errors.New("every target is at max_connections")

// acquire takes an in-flight slot on t, or on the next targets of list
// when t is full, and returns the target it took; nil when all are full.
// Without a cap it returns t.
func (p *Pool) acquire(t *target, list []*target) *target {
	if p.maxConns <= 0 {
		return t
	}
	if t.inflight.Add(1) <= p.maxConns {
		return t
	}
	t.inflight.Add(-1)
	for _, o := range list {
		if o == t {
			continue
		}
		if o.inflight.Add(1) <= p.maxConns {
			return o
		}
		o.inflight.Add(-1)
	}
	return nil
}

// capacityError is the error of a request refused by max_connections.
func (p *Pool) capacityError() error {
	return httperr.New(http.StatusServiceUnavailable, fmt.Errorf("upstream %q: %w (%d per target)", p.name, ErrAtCapacity, p.maxConns))
}

// release gives t's slot back once resp's body is closed (at once when
// there is no response).
func (p *Pool) release(t *target, resp *http.Response) {
	if p.maxConns <= 0 {
		return
	}
	if resp == nil || resp.Body == nil {
		t.inflight.Add(-1)
		return
	}
	if hb, ok := resp.Body.(*h1Body); ok { // the h1 transport's body frees the slot itself
		hb.slot = &t.inflight
		return
	}
	rb := &releasingBody{rc: resp.Body, t: t}
	if rwc, ok := resp.Body.(io.ReadWriteCloser); ok { // a 101 Switching Protocols body
		resp.Body = releasingRWC{releasingBody: rb, w: rwc}
		return
	}
	resp.Body = rb
}

// releasingBody frees its target's slot when closed.
type releasingBody struct {
	rc   io.ReadCloser
	t    *target
	once sync.Once
}

func (b *releasingBody) Read(p []byte) (int, error) { return b.rc.Read(p) }

func (b *releasingBody) Close() error {
	err := b.rc.Close()
	b.once.Do(func() { b.t.inflight.Add(-1) })
	return err
}

// releasingRWC keeps an upgraded connection writable.
type releasingRWC struct {
	*releasingBody
	w io.Writer
}

func (b releasingRWC) Write(p []byte) (int, error) { return b.w.Write(p) }
