package h1server

import (
	"errors"
	"net"
	"os"
	"sync"
	"time"
)

// DefaultClientGoneAfter is when the server starts watching for a client
// that goes away while the handler runs.
const DefaultClientGoneAfter = 500 * time.Millisecond

// Watch states of a connection.
const (
	watchOff = iota
	watchArmed
	watchReading
)

var aLongTimeAgo = time.Unix(1, 0)

// watcher notices a client that closes its connection while a handler is
// still at work, and cancels the request's context (as net/http's server
// does), so that the proxy stops the upstream exchange and counts a 499.
// Only requests without a body and without a pipelined request behind
// them are watched, and only once they have run for ClientGoneAfter: then
// one goroutine reads one byte from the connection. A byte that arrives
// (the client's next request) is kept for the connection's reader; an
// error other than a timeout means the client is gone.
//
// The connection's goroutine arms and disarms it; the timer's goroutine
// fires it; mu orders the two and the read deadline they both set.
type watcher struct {
	mu      sync.Mutex
	state   int
	timer   *time.Timer
	done    chan struct{}
	ctx     *reqCtx // the armed request's
	hasByte bool    // written by the reading goroutine before done, read after
	b       [1]byte
}

func (s *Server) clientGoneAfter() time.Duration {
	if s.ClientGoneAfter == 0 {
		return DefaultClientGoneAfter
	}
	return s.ClientGoneAfter
}

// arm starts the watch of the request whose context is ctx.
func (c *conn) arm(ctx *reqCtx) {
	w := &c.watch
	d := c.srv.clientGoneAfter()
	w.mu.Lock()
	w.state, w.ctx = watchArmed, ctx
	if w.timer == nil {
		w.done = make(chan struct{}, 1)
		w.timer = time.AfterFunc(d, c.fire)
	} else {
		w.timer.Reset(d)
	}
	w.mu.Unlock()
}

// fire runs on the timer's goroutine: it reads until a byte, an error, or
// disarm.
func (c *conn) fire() {
	w := &c.watch
	w.mu.Lock()
	if w.state != watchArmed {
		w.mu.Unlock()
		return
	}
	w.state = watchReading
	_ = c.rwc.SetReadDeadline(time.Time{})
	w.mu.Unlock()
	n, err := c.rwc.Read(w.b[:])
	if n == 1 {
		w.hasByte = true
	} else if err != nil && !isTimeout(err) {
		w.ctx.cancel()
	}
	w.done <- struct{}{}
}

// disarm ends the watch, waiting for a read in progress to stop. It is
// called by the connection's goroutine, and is a no-op when not armed.
func (c *conn) disarm() {
	w := &c.watch
	w.mu.Lock()
	switch w.state {
	case watchArmed:
		w.state, w.ctx = watchOff, nil // the request's exchange is not kept past it
		w.mu.Unlock()
		w.timer.Stop()
		return
	case watchReading:
		_ = c.rwc.SetReadDeadline(aLongTimeAgo)
		w.mu.Unlock()
		<-w.done
		w.mu.Lock()
		w.state = watchOff
	}
	w.ctx = nil
	w.mu.Unlock()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// connReader is what the connection's bufio.Reader reads: the watcher's
// byte first, then the connection.
type connReader struct{ c *conn }

func (r connReader) Read(p []byte) (int, error) {
	w := &r.c.watch
	if w.hasByte && len(p) > 0 {
		w.hasByte = false
		p[0] = w.b[0]
		return 1, nil
	}
	return r.c.rwc.Read(p)
}

// connWriter is what the connection's bufio.Writer writes to: the
// connection, each write under the WriteTimeout deadline until the
// connection is hijacked. It runs on the goroutine writing the answer.
type connWriter struct{ c *conn }

func (w connWriter) Write(p []byte) (int, error) {
	c := w.c
	if d := c.srv.writeTimeout(); d > 0 && !c.hijacked {
		_ = c.rwc.SetWriteDeadline(time.Now().Add(d))
	}
	return c.rwc.Write(p)
}
