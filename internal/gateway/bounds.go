package gateway

import (
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/turnout-gw/turnout/internal/httperr"
	"github.com/turnout-gw/turnout/internal/proxy"
)

// bound applies the request body's bounds before the request goes on: a
// declared length over limits.max_request_body_bytes is answered 413 at
// once (it reports false); otherwise the body is capped
// (http.MaxBytesReader, for chunked bodies) and must arrive within
// limits.request_body_timeout, a read deadline the body lifts once it has
// been read whole. gRPC calls and protocol upgrades, whose bodies are
// streams, have no deadline. The proxy answers a body over the cap 413 and
// one past the deadline 408, as the client's failures.
func (l *limiter) bound(w http.ResponseWriter, r *http.Request) bool {
	if l.maxBody > 0 {
		if r.ContentLength > l.maxBody {
			l.reject(LimitBodyBytes)
			w.Header().Set("Connection", "close")
			httperr.Write(w, http.StatusRequestEntityTooLarge, "request body exceeds limits.max_request_body_bytes ("+strconv.FormatInt(l.maxBody, 10)+" bytes)")
			return false
		}
		if r.ContentLength < 0 {
			r.Body = http.MaxBytesReader(w, r.Body, l.maxBody)
		}
	}
	if l.bodyTime > 0 && !proxy.Streamed(r) {
		if rd, ok := w.(readDeadliner); ok && rd.SetReadDeadline(time.Now().Add(l.bodyTime)) == nil {
			r.Body = &timedBody{ReadCloser: r.Body, rd: rd}
		}
	}
	return true
}

// readDeadliner is the server's ResponseWriter, both servers' (what
// http.ResponseController calls, without its allocation).
type readDeadliner interface{ SetReadDeadline(time.Time) error }

// timedBody is a request body under a read deadline, which it lifts once
// the body has been read to its end, so that the deadline cannot end the
// request afterwards (net/http's server reads the connection in the
// background then, and would take the timeout for a client gone). It is
// read by one goroutine at a time, as every request body.
type timedBody struct {
	io.ReadCloser
	rd   readDeadliner
	done bool
}

func (b *timedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && !b.done {
		b.done = true
		_ = b.rd.SetReadDeadline(time.Time{})
	}
	return n, err
}

// writeBounded gives every write of an HTTP/1 answer served by net/http's
// server (TURNOUT_HTTP_SERVER=net/http) a deadline of d, as h1server does
// itself: a client that stops reading is cut off after d without progress
// instead of holding its upstream slot. HTTP/2 answers are bounded by the
// HTTP/2 server's WriteByteTimeout; upgrades are left alone.
type writeBounded struct {
	next http.Handler
	d    time.Duration
}

func (h writeBounded) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor != 1 || h.d <= 0 || proxy.Streamed(r) {
		h.next.ServeHTTP(w, r)
		return
	}
	h.next.ServeHTTP(&deadlineWriter{ResponseWriter: w, rc: http.NewResponseController(w), d: h.d}, r)
}

// deadlineWriter sets the connection's write deadline before each write
// and flush. It is used by the request's handler goroutine only.
type deadlineWriter struct {
	http.ResponseWriter
	rc *http.ResponseController
	d  time.Duration
}

func (w *deadlineWriter) Write(p []byte) (int, error) {
	_ = w.rc.SetWriteDeadline(time.Now().Add(w.d))
	return w.ResponseWriter.Write(p)
}

// Flush flushes under the deadline.
func (w *deadlineWriter) Flush() { _ = w.FlushError() }

// FlushError flushes under the deadline and returns the error.
func (w *deadlineWriter) FlushError() error {
	_ = w.rc.SetWriteDeadline(time.Now().Add(w.d))
	return w.rc.Flush()
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w *deadlineWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// SetReadDeadline sets the request body's read deadline (readDeadliner).
func (w *deadlineWriter) SetReadDeadline(t time.Time) error { return w.rc.SetReadDeadline(t) }
