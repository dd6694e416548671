package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/turnout-gw/turnout/internal/interrupt"
	"github.com/turnout-gw/turnout/internal/rawconn"
)

// maxFastBody is the largest request body the h1 transport sends itself. A
// larger or unknown-length body goes through net/http's Transport, which
// reads the response while it is still writing the request.
const maxFastBody = 64 << 10

// h1Transport is a lean HTTP/1.1 client for plain-http targets. It writes
// the request and reads the response on the caller's goroutine, with one
// connection per exchange and no background goroutines, which is what makes
// a proxied request cheap: net/http's Transport hands every request to a
// writer goroutine and every response from a reader goroutine.
//
// It serves only requests that need nothing else (see fits); the rest go
// to net/http. The common answer (HTTP/1.1, a Content-Length body, plain
// header lines) is read by readPlainResponse; every other kind (chunked
// bodies, trailers, informational answers, bodies until close) by
// http.ReadResponse. Requests, which fits keeps to the simple kinds, are
// written by writeRequest.
//
// An h1Transport is safe for concurrent use; each target has its own idle
// stack and lock, so requests to different targets share nothing.
type h1Transport struct {
	dial          dialFunc
	headerTimeout time.Duration
	maxHeader     int64 // bytes of an answer's head (limits.max_response_header_bytes)
	idleTimeout   time.Duration
	maxIdle       int
	now           func() time.Time
	stacks        map[string]*idleStack // by host:port; fixed at construction
}

// idleStack is one target's idle connections, most recently used last.
type idleStack struct {
	addr   string // host:port to dial
	mu     sync.Mutex
	conns  []*h1Conn
	closed bool
}

func newH1Transport(dial dialFunc, headerTimeout time.Duration, maxHeader int64, hosts []string) *h1Transport {
	if maxHeader <= 0 {
		maxHeader = -1 // no bound
	}
	t := &h1Transport{dial: dial, headerTimeout: headerTimeout, maxHeader: maxHeader, idleTimeout: idleConnTimeout,
		maxIdle: maxIdleConnsPerHost, now: time.Now, stacks: make(map[string]*idleStack, len(hosts))}
	for _, h := range hosts {
		addr := h
		if u := (&url.URL{Host: h}); u.Port() == "" {
			addr = net.JoinHostPort(u.Hostname(), "80")
		}
		t.stacks[h] = &idleStack{addr: addr}
	}
	return t
}

// fits reports whether req can be sent by the h1 transport: a plain-http
// target this transport knows, no 100-continue, no request trailers, and
// a body that is absent or small, of known length and replayable. (Upgrade
// and gRPC requests never get here; see transports.pick.)
func (t *h1Transport) fits(req *http.Request) bool {
	if req.URL.Scheme != "http" || t.stacks[req.URL.Host] == nil {
		return false
	}
	if _, ok := req.Header["Expect"]; ok || len(req.Trailer) > 0 || len(req.TransferEncoding) > 0 {
		return false
	}
	if req.Body == nil || req.Body == http.NoBody {
		return true
	}
	return req.ContentLength > 0 && req.ContentLength <= maxFastBody && req.GetBody != nil
}

// RoundTrip sends req on an idle or new connection. An idle connection
// the upstream closed, reset or wrote to meanwhile is never used (see
// idleStack.get). One that fails nonetheless before any byte of an answer
// arrived (the upstream closed it as the request went out) is replaced by
// a new one and the request sent again, but only when none of its bytes
// were written or it is replayable: a request the upstream may have
// received is never sent twice. (fits admits only bodies with GetBody,
// so a body can be sent again.)
func (t *h1Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	st := t.stacks[req.URL.Host]
	now := t.now() // one reading serves the idle check, the deadline and the release
	c := st.get(now, t.idleTimeout)
	if c != nil {
		resp, err, stale := t.exchange(ctx, c, req, now)
		if !stale {
			return resp, err
		}
		if req.GetBody != nil && req.Body != nil && req.Body != http.NoBody {
			body, err := req.GetBody()
			if err != nil {
				return nil, fmt.Errorf("rewinding request body: %w", err)
			}
			req.Body = body
		}
	}
	nc, err := t.dial(ctx, "tcp", st.addr)
	if err != nil {
		return nil, err
	}
	c = newH1Conn(rawconn.Wrap(nc), st)
	resp, err, _ := t.exchange(ctx, c, req, now)
	return resp, err
}

// exchange writes req on c and reads the answer's header. stale reports a
// reused connection that failed before any byte of an answer arrived when
// the request may be sent again (see resendable); c is closed then and the
// caller may try a fresh one. now is when the round trip began: the
// response-header deadline counts from it, and a kept connection counts
// as idle from it.
func (t *h1Transport) exchange(ctx context.Context, c *h1Conn, req *http.Request, now time.Time) (resp *http.Response, err error, stale bool) {
	reused := !c.idleAt.IsZero()
	sent := c.cw.n
	watch := interrupt.Start(ctx, c.Conn)
	fail := func(e error, beforeAnswer bool) (*http.Response, error, bool) {
		watch.Stop()
		_ = c.Close()
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr, false
		}
		if c.lr.exceeded {
			return nil, headerTooLarge(t.maxHeader, e), false
		}
		if reused && beforeAnswer && !isTimeout(e) && resendable(req, c.cw.n-sent) {
			return nil, nil, true
		}
		return nil, e, false
	}
	if err := writeRequest(c.bw, req); err != nil {
		return fail(fmt.Errorf("writing request: %w", err), true)
	}
	if err := c.bw.Flush(); err != nil {
		return fail(fmt.Errorf("writing request: %w", err), true)
	}
	if t.headerTimeout > 0 {
		_ = c.SetReadDeadline(now.Add(t.headerTimeout))
	}
	c.lr.left = t.maxHeader
	if _, err := c.br.Peek(1); err != nil {
		// The upstream closed the connection as the request went out.
		return fail(fmt.Errorf("reading response: %w", err), true)
	}
	if a, ok := readPlainResponse(c.br, req); ok {
		c.lr.left = -1
		return t.answered(c, req, &a.resp, &a.body, watch, now), nil, false
	}
	trace := httptrace.ContextClientTrace(ctx)
	for informational := 0; ; informational++ {
		if informational > maxInformational {
			return fail(errors.New("too many informational (1xx) answers"), false)
		}
		resp, err = http.ReadResponse(c.br, req)
		if err != nil {
			return fail(fmt.Errorf("reading response: %w", err), false)
		}
		code := resp.StatusCode
		if code < 100 || code > 199 || code == http.StatusSwitchingProtocols {
			c.lr.left = -1 // the body is not a head
			break
		}
		c.lr.left = t.maxHeader // the next answer's head
		// An informational answer (103 Early Hints): tell the caller (the
		// ReverseProxy forwards it) and read the final answer.
		if trace != nil && trace.Got1xxResponse != nil {
			if err := trace.Got1xxResponse(code, textproto.MIMEHeader(resp.Header)); err != nil {
				return fail(err, false)
			}
		}
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		return fail(errors.New("unexpected 101 Switching Protocols to a request without Upgrade"), false)
	}
	var body *h1Body
	if resp.Body != http.NoBody && resp.Body != nil {
		body = &h1Body{rc: resp.Body}
	}
	return t.answered(c, req, resp, body, watch, now), nil, false
}

// answered ends the response-header wait of an exchange on c and hands
// c to resp's body, or back to its stack when there is no body. body is
// resp's body (nil for none), reading from rc or, without rc, its
// Content-Length's remaining bytes from c's reader.
func (t *h1Transport) answered(c *h1Conn, req *http.Request, resp *http.Response, body *h1Body, watch interrupt.Watch, now time.Time) *http.Response {
	whole := body == nil || resp.Body == http.NoBody || body.rc == nil && body.remain <= int64(c.br.Buffered())
	if t.headerTimeout > 0 && !whole {
		// The body is read at the client's pace. (An answer already in
		// the buffer needs no more reads: the deadline stays until the
		// next exchange on c sets its own, sparing the poller's timer two
		// updates per request.)
		_ = c.SetReadDeadline(time.Time{})
	}
	keep := !resp.Close && !req.Close
	if body == nil || resp.Body == http.NoBody {
		c.release(watch, keep, now)
		return resp
	}
	body.c, body.watch, body.keep, body.at = c, watch, keep, now
	resp.Body = body
	return resp
}

// maxInformational bounds the 1xx answers read before the final one.
const maxInformational = 5

// resendable reports whether req, of which written bytes went out on a
// connection that failed before any answer, may be sent again on another:
// when no byte left (the upstream cannot have seen it), or when it is
// replayable. net/http's Transport follows the same rule; a
// non-idempotent request the upstream may have received part of is never
// sent twice, its client gets the error instead.
func resendable(req *http.Request, written int64) bool {
	return written == 0 || replayable(req)
}

// replayable reports whether req may be sent again after it may have
// reached the upstream: an idempotent method, or an Idempotency-Key.
func replayable(req *http.Request) bool {
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	_, ok := req.Header["Idempotency-Key"]
	return ok
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// release returns c to its stack when keep is true and the request's
// context watcher had not fired; otherwise it closes c.
func (c *h1Conn) release(watch interrupt.Watch, keep bool, now time.Time) {
	if !watch.Stop() || !keep {
		_ = c.Close()
		return
	}
	c.idleAt = now
	c.stack.put(c)
}

// h1Body is an answer's body; the connection goes back to its stack once
// the body has been read to its end.
type h1Body struct {
	rc     io.ReadCloser // nil: remain bytes from c.br
	remain int64
	slot   *atomic.Int64 // the target's requests in flight, decremented at Close (max_connections)
	c      *h1Conn
	watch  interrupt.Watch
	keep   bool
	at     time.Time // when the round trip began
	done   bool
}

func (b *h1Body) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	var n int
	var err error
	if b.rc != nil {
		n, err = b.rc.Read(p)
	} else {
		n, err = readRemain(b.c.br, &b.remain, p)
	}
	if err == io.EOF {
		b.done = true
		b.c.release(b.watch, b.keep, b.at)
		b.c = nil
	} else if err != nil {
		b.done = true
		b.watch.Stop()
		_ = b.c.Close()
		b.c = nil
	}
	return n, err
}

// Close closes the connection unless the body was read to its end: the
// rest of an abandoned body would otherwise be read as the next answer.
func (b *h1Body) Close() error {
	if b.c != nil {
		b.done = true
		b.watch.Stop()
		_ = b.c.Close()
		b.c = nil
	}
	if b.slot != nil {
		b.slot.Add(-1)
		b.slot = nil
	}
	return nil
}

// get pops the most recently used idle connection that is still usable,
// closing those idle longer than maxIdle and those the upstream closed,
// reset or wrote to while they were idle (rawconn.Reusable: a look
// without waiting, before any byte of a request goes out, so that a
// request is not written into a connection the upstream already left).
func (s *idleStack) get(now time.Time, maxIdle time.Duration) *h1Conn {
	for {
		s.mu.Lock()
		n := len(s.conns)
		if n == 0 {
			s.mu.Unlock()
			return nil
		}
		c := s.conns[n-1]
		s.conns[n-1] = nil
		s.conns = s.conns[:n-1]
		s.mu.Unlock()
		if now.Sub(c.idleAt) < maxIdle && c.br.Buffered() == 0 && rawconn.Reusable(c.Conn) {
			return c
		}
		_ = c.Close()
	}
}

func (s *idleStack) put(c *h1Conn) {
	s.mu.Lock()
	if s.closed || len(s.conns) >= maxIdleConnsPerHost {
		s.mu.Unlock()
		_ = c.Close()
		return
	}
	s.conns = append(s.conns, c)
	s.mu.Unlock()
}

// close closes the idle connections; connections in use are closed when
// their exchange ends.
func (t *h1Transport) close() {
	for _, s := range t.stacks {
		s.mu.Lock()
		s.closed = true
		conns := s.conns
		s.conns = nil
		s.mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	}
}
