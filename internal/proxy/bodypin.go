package proxy

import (
	"bytes"
	"io"
	"net/http"

	"github.com/turnout-gw/turnout/internal/httperr"
	"github.com/turnout-gw/turnout/internal/route"
	"github.com/turnout-gw/turnout/internal/snapshot"
)

// Reading a version from the body (negotiate.body). The table says when a
// request's body may decide its version and how much of it to read
// (route.Table.WantsBody); the proxy reads that much before deciding and
// gives it to the decision (route.Input). A body within the bound is kept
// whole and made the request's replayable body: the upstream, a retry on
// the fallback version, the mirror and an adapter all get it unchanged,
// from memory (preread and readJSON take the kept bytes as they are). A
// longer body carries no version: what was read goes first, then the rest
// as it arrives, and nothing beyond the bound is held. A body that fails
// while it is read (cut short, too slow, over
// limits.max_request_body_bytes) is the client's failure (400, 408, 413),
// answered once the request is decided without it and never counted
// against a version.

// gather reads what the decision of r needs from its body: the input to
// decide with, and the client's error if the body failed.
func gather(snap *snapshot.Snapshot, r *http.Request) (route.Input, error) {
	bound := snap.Table.WantsBody(r)
	if bound <= 0 {
		return route.Input{}, nil
	}
	b, err := readBounded(r.Body, r.ContentLength, bound)
	if err != nil {
		return route.Input{}, httperr.ClientBody(err)
	}
	if int64(len(b)) > bound {
		r.Body = readCloser{io.MultiReader(bytes.NewReader(b), r.Body), r.Body}
		return route.Input{}, nil
	}
	_ = r.Body.Close()
	setBody(r, b)
	if len(b) > 0 {
		r.Body = &keptBody{Reader: bytes.NewReader(b), b: b}
	}
	return route.Input{Body: b}, nil
}

// keptBody is a request body read whole before deciding. It is owned by
// the request's goroutine.
type keptBody struct {
	*bytes.Reader
	b []byte
}

// Close does nothing: the body is in memory.
func (*keptBody) Close() error { return nil }

// Kept is adapt.Kept: the whole body, while none of it was read.
func (kb *keptBody) Kept() ([]byte, bool) { return kb.b, kb.Len() == len(kb.b) }

// kept returns the whole body rc holds when it is a kept body not yet
// read from, so that it is not read again.
func kept(rc io.ReadCloser) ([]byte, bool) {
	kb, ok := rc.(*keptBody)
	if !ok || kb.Len() != len(kb.b) {
		return nil, false
	}
	return kb.b, true
}
