package h1server

import (
	"bufio"
	"sync"
	"time"

	"github.com/turnout-gw/turnout/internal/rawconn"
)

// parkAfter is how long a kept-alive connection waits for its next request
// holding its buffers and its goroutine (whose stack grew with the
// handler) before it parks. A busy client's next request comes sooner, so
// the hot path never pays for parking; parking costs a timer's expiry, a
// goroutine and, when the client comes back, pooled buffers and a stack
// that grows again.
const parkAfter = 200 * time.Millisecond

// The connections' buffers, borrowed while a request is read and answered.
var (
	readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, bufSize) }}
	writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, bufSize) }}
)

// takeBuffers borrows the reader and writer for the requests to come.
func (c *conn) takeBuffers() {
	c.br = readers.Get().(*bufio.Reader)
	c.br.Reset(connReader{c})
	c.bw = writers.Get().(*bufio.Writer)
	c.bw.Reset(connWriter{c})
}

// releaseBuffers returns them; nothing may be buffered in either.
func (c *conn) releaseBuffers() {
	if c.br == nil {
		return
	}
	c.br.Reset(nil)
	readers.Put(c.br)
	c.bw.Reset(nil)
	writers.Put(c.bw)
	c.br, c.bw = nil, nil
}

// park leaves an idle connection holding only its socket and this struct:
// the buffers go back to their pools, the scratch space and the watcher's
// timer to the collector, and this goroutine (with the stack the handler
// grew) ends. A plain connection waits in the server's poller, without a
// goroutine, until its client sends or its idle timeout ends; any other
// (TLS) in a new goroutine, whose stack starts small, without buffers
// (see await). The connection stays idle meanwhile, for Shutdown to close.
func (c *conn) park() {
	c.releaseBuffers()
	c.dropScratch()
	w := &c.watch
	w.mu.Lock()
	if w.timer != nil {
		w.timer.Stop()
		w.timer, w.done = nil, nil
	}
	w.ctx = nil
	w.mu.Unlock()
	_ = c.rwc.SetReadDeadline(c.idleEnd)
	c.parked = true
	c.srv.parked.Add(1)
	if p := c.srv.poller(); p != nil && p.add(c, c.idleEnd) {
		return // c is the poller's now
	}
	go c.loop(false)
}

// unpark uncounts a parked connection.
func (c *conn) unpark() {
	if c.parked {
		c.parked = false
		c.srv.parked.Add(-1)
	}
}

// poller is the server's, started with the first connection that parks;
// nil when it cannot be had (not Linux, no epoll, shutting down).
func (s *Server) poller() *poller {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.poll == nil && !s.pollFailed && !s.closing.Load() {
		p, err := newPoller()
		if err != nil {
			s.pollFailed = true
			s.log().Warn("parking idle connections in goroutines", "error", err)
		}
		s.poll = p
	}
	return s.poll
}

// closeParked closes the idle connections the poller holds, under s.mu.
func (s *Server) closeParked(c *conn) bool {
	if s.poll == nil || !s.poll.take(c) {
		return false
	}
	c.idleTimer.Stop()
	c.unpark()
	_ = c.rwc.Close()
	delete(s.conns, c)
	return true
}

// dropScratch lets the collector have the per-request scratch space.
func (c *conn) dropScratch() {
	c.block, c.long, c.str, c.fields, c.pending, c.whdr = nil, nil, "", nil, nil, nil
}

// awaitReadable waits, without a buffer, until the connection has
// something to read, under the read deadline already set: in the network
// poller for a socket, else (TLS) by reading one byte, which the reader
// gets first as it gets the watcher's. It reports false when the wait
// failed: a deadline, a close, an error.
func (c *conn) awaitReadable() bool {
	defer c.unpark()
	if ok, err := rawconn.AwaitReadable(c.rwc); ok {
		return err == nil
	}
	w := &c.watch
	n, _ := c.rwc.Read(w.b[:])
	if n == 1 {
		w.hasByte = true
		return true
	}
	return false
}
