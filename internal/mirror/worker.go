package mirror

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/turnout-gw/turnout/internal/adapt"
	"github.com/turnout-gw/turnout/internal/mirror/compare"
	"github.com/turnout-gw/turnout/internal/pipeline"
	"github.com/turnout-gw/turnout/internal/route"
)

// Header names of mirrored requests.
const (
	// HeaderMirror marks a copy, so a backend can refuse side effects.
	HeaderMirror  = "X-Turnout-Mirror"
	headerVersion = "X-Turnout-Version"
)

// process sends one copy, compares the answers and records the outcome:
// the pipeline's job function, run by its workers. ctx is cancelled by
// Close.
func (m *Manager) process(ctx context.Context, t *tap) {
	s := t.svc
	t.endpoint = s.res.admit(t.endpoint)
	primary := &compare.Response{Status: t.status, Header: t.respHdr, Body: t.Buf, Truncated: t.Truncated}
	decode(primary, s.maxBody)
	cand, err := m.send(ctx, t, t.rsvc.Version(s.to))
	if ctx.Err() != nil {
		return // stopping: an abandoned copy is no outcome
	}
	if err != nil {
		m.log.Debug("mirror: copy failed", "service", s.name, "to", s.to, "endpoint", t.endpoint, "error", err)
		s.res.recordError(m.o.Now(), t.endpoint, err)
		m.observe(s.name, "error")
		return
	}
	if s.comparer == nil {
		s.res.recordSent()
		return
	}
	res := s.comparer.Compare(primary, cand)
	var noisy []compare.Diff
	if s.noise != nil {
		if again, err := m.send(ctx, t, t.served); err == nil {
			s.noise.Learn(t.endpoint, primary, again, s.comparer)
		} else if ctx.Err() == nil {
			m.log.Debug("mirror: second primary call failed", "service", s.name, "endpoint", t.endpoint, "error", err)
		}
		res, noisy = s.noise.Filter(t.endpoint, res)
	}
	var smp *Sample
	if !res.Match {
		smp = newSample(m.o.Now(), t, primary, cand, res.Diffs, m.o.SampleBody)
	}
	s.res.record(m.o.Now(), t.endpoint, res, len(noisy) > 0, smp)
	if res.Match {
		m.observe(s.name, "match")
	} else {
		m.observe(s.name, "diff")
	}
}

func (m *Manager) observe(service, result string) {
	if m.o.Observe != nil {
		m.o.Observe(service, result)
	}
}

// send sends the tap's request to version v's pool in the live snapshot,
// marked as a copy, within the mirror's timeout, and reads the answer up to
// max_body.
//
// The copy's context derives from the pipeline's (cancelled by Close), not
// from the client's request: besides its cancellation, the request's
// context carries the proxy's per-request state (its pooled client-trace
// hooks), which must not outlive the request. What a copy needs of the
// request (traceparent, baggage) travels in its headers.
func (m *Manager) send(ctx context.Context, t *tap, v *route.Version) (_ *compare.Response, err error) {
	if v == nil {
		return nil, fmt.Errorf("version %s is no longer declared", t.svc.to)
	}
	pool := m.o.Pool(v.Upstream)
	if pool == nil {
		return nil, fmt.Errorf("no upstream pool %q for version %s", v.Upstream, v.Name)
	}
	ctx, cancel := context.WithTimeout(ctx, t.svc.timeout)
	defer cancel()
	h := t.header.Clone()
	h[HeaderMirror] = []string{"1"}
	h[headerVersion] = v.NameHeader()
	req := (&http.Request{
		Method: t.method, URL: &url.URL{Path: t.path, RawPath: t.rawPath, RawQuery: t.query},
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: h, Host: t.host,
	}).WithContext(ctx)
	if len(t.body) > 0 {
		b := t.body
		req.Body = io.NopCloser(bytes.NewReader(b))
		req.ContentLength = int64(len(b))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	var pair *adapt.Pair
	if a := v.Adapter; a != nil {
		// A version served by another's upstream gets the copy as its
		// clients' requests are sent, and is compared by what its clients
		// would get: adapted both ways, by the proxy's own code.
		if pair, err = a.Request(req); err != nil {
			return nil, fmt.Errorf("mirror to %s: %w", v.Name, err)
		}
	}
	resp, err := pool.RoundTrip(req)
	if err != nil {
		return nil, fmt.Errorf("mirror to %s: %w", v.Name, err)
	}
	if v.Adapter != nil {
		if resp, err = v.Adapter.Response(ctx, pair, t.method, resp); err != nil {
			return nil, fmt.Errorf("mirror to %s: %w", v.Name, err)
		}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, t.svc.maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("mirror to %s: reading the answer: %w", v.Name, err)
	}
	r := &compare.Response{Status: resp.StatusCode, Header: resp.Header, Body: body}
	if int64(len(body)) > t.svc.maxBody {
		r.Body, r.Truncated = body[:t.svc.maxBody], true
	}
	decode(r, t.svc.maxBody)
	return r, nil
}

// decode replaces a whole gzip-encoded body by its content (up to max), so
// that answers compare by what they say, not by how they were compressed.
func decode(r *compare.Response, max int64) {
	if r.Truncated || len(r.Body) == 0 || !strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		return
	}
	b, err := pipeline.Gunzip(r.Body, max)
	if err != nil {
		return
	}
	h := r.Header.Clone()
	h.Del("Content-Encoding")
	h.Del("Content-Length")
	r.Header, r.Body = h, b
	if int64(len(b)) > max {
		r.Body, r.Truncated = b[:max], true
	}
}
