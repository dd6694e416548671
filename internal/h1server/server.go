package h1server

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/turnout-gw/turnout/internal/rawconn"
)

// Defaults for the zero values of the Server's limits.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultMaxHeaderBytes    = 1 << 20
	DefaultWriteTimeout      = 60 * time.Second
)

// Server serves HTTP/1.x connections with Handler. The fields are set
// before Serve and not changed afterwards.
type Server struct {
	// Handler answers every HTTP/1.x request.
	Handler http.Handler
	// ReadHeaderTimeout bounds reading a request's line and headers, from
	// its first byte (and the first request from the connection's accept).
	ReadHeaderTimeout time.Duration
	// IdleTimeout bounds the wait for the next request on a kept-alive
	// connection.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds the request line and header section; a larger
	// one is answered 431.
	MaxHeaderBytes int
	// WriteTimeout bounds each write to the connection (every flush of the
	// answer's buffer): a client that does not read for that long is cut
	// off and the handler's Write fails. Zero is DefaultWriteTimeout,
	// negative none. A hijacked connection has no write deadline.
	WriteTimeout time.Duration
	// TLSConfig, when set, makes every accepted connection a TLS server
	// connection; those that negotiate "h2" go to H2.
	TLSConfig *tls.Config
	// H2 serves the connections that speak HTTP/2: the h2c preface on a
	// plain connection, ALPN "h2" under TLS. It must enable the matching
	// protocols (http.Protocols). Nil refuses them as bad HTTP/1 requests.
	H2 *http.Server
	// ClientGoneAfter is how long a request without a body runs before
	// the server watches for its client going away (then it cancels the
	// request's context); 0 is DefaultClientGoneAfter, negative never.
	ClientGoneAfter time.Duration
	// Log receives handler panics and accept errors; nil is slog.Default.
	Log *slog.Logger
	// Now is the clock for the Date header; nil is time.Now.
	Now func() time.Time
	// Refused, when set, is told of every request the server refuses
	// itself (400, 417, 431, 505) with the status, the kind of refusal and
	// a message for logs; it must be safe for concurrent use.
	Refused func(status int, reason Reason, msg string)

	mu         sync.Mutex
	listeners  map[net.Listener]struct{}
	conns      map[*conn]struct{}
	h2q        *connQueue
	h2once     sync.Once
	closing    atomic.Bool
	parked     atomic.Int64 // connections waiting without buffers (see conn.park)
	poll       *poller      // under mu
	pollFailed bool         // under mu
	date       dateCache
}

// ErrServerClosed is what Serve returns after Shutdown or Close.
var ErrServerClosed = http.ErrServerClosed

// Serve accepts connections on ln and serves each on its own goroutine
// until ln fails or the Server is shut down (then ErrServerClosed).
func (s *Server) Serve(ln net.Listener) error {
	if s.Handler == nil {
		return errors.New("h1server: nil Handler")
	}
	if !s.track(ln) {
		_ = ln.Close()
		return ErrServerClosed
	}
	defer s.untrack(ln)
	if s.H2 != nil {
		s.h2once.Do(func() {
			s.mu.Lock()
			s.h2q = newConnQueue(ln.Addr())
			q := s.h2q
			s.mu.Unlock()
			go func() { _ = s.H2.Serve(q) }()
		})
	}
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.closing.Load() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, errTooManyFiles) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.log().Warn("accept failed; retrying", "error", err, "delay", delay)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		c := s.newConn(nc)
		if !s.add(c) {
			_ = nc.Close()
			return ErrServerClosed
		}
		go c.serve()
	}
}

func (s *Server) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}

func (s *Server) track(ln net.Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return false
	}
	if s.listeners == nil {
		s.listeners = make(map[net.Listener]struct{})
	}
	s.listeners[ln] = struct{}{}
	return true
}

func (s *Server) untrack(ln net.Listener) {
	s.mu.Lock()
	delete(s.listeners, ln)
	s.mu.Unlock()
}

func (s *Server) add(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return false
	}
	if s.conns == nil {
		s.conns = make(map[*conn]struct{})
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) remove(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// shuttingDown reports whether Shutdown or Close has begun: responses then
// say Connection: close and connections end after them.
func (s *Server) shuttingDown() bool { return s.closing.Load() }

// Shutdown stops accepting, closes idle connections, and waits for the
// requests in flight to finish (their answers say Connection: close) until
// ctx ends; then it returns ctx's error and leaves the rest to Close. The
// H2 server is shut down alongside. Hijacked connections are not waited
// for.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closing.Store(true)
	s.closeListeners()
	var h2err error
	var wg sync.WaitGroup
	if s.H2 != nil {
		wg.Add(1)
		go func() { defer wg.Done(); h2err = s.H2.Shutdown(ctx) }()
	}
	poll := time.Millisecond
	t := time.NewTimer(poll)
	defer t.Stop()
	var err error
	for {
		if s.closeIdle() == 0 {
			break
		}
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-t.C:
			poll = min(2*poll, 100*time.Millisecond)
			t.Reset(poll)
			continue
		}
		break
	}
	wg.Wait()
	return errors.Join(err, h2err)
}

// Close closes the listeners and every connection at once (and the H2
// server's).
func (s *Server) Close() error {
	s.closing.Store(true)
	s.closeListeners()
	s.mu.Lock()
	for c := range s.conns {
		if !s.closeParked(c) {
			_ = c.rwc.Close()
		}
	}
	s.stopPoller()
	s.mu.Unlock()
	if s.H2 != nil {
		return s.H2.Close()
	}
	return nil
}

func (s *Server) closeListeners() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ln := range s.listeners {
		_ = ln.Close()
	}
	if s.h2q != nil {
		_ = s.h2q.Close()
	}
}

// closeIdle closes the connections waiting for a request and returns how
// many connections are left.
func (s *Server) closeIdle() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if c.state.CompareAndSwap(stateIdle, stateClosed) && !s.closeParked(c) {
			_ = c.rwc.Close()
		}
	}
	if len(s.conns) == 0 {
		s.stopPoller()
	}
	return len(s.conns)
}

// stopPoller ends the poller's goroutine, under s.mu; connections that
// would park later keep a goroutine.
func (s *Server) stopPoller() {
	if s.poll != nil {
		s.poll.close()
	}
	s.pollFailed = true
}

// handOff gives an HTTP/2 connection to the H2 server.
func (s *Server) handOff(c net.Conn) {
	s.mu.Lock()
	q := s.h2q
	s.mu.Unlock()
	if q == nil || !q.put(c) {
		_ = c.Close()
	}
}

// connQueue is the net.Listener the H2 server accepts handed-off
// connections from.
type connQueue struct {
	addr  net.Addr
	ch    chan net.Conn
	done  chan struct{}
	once  sync.Once
	ready atomic.Bool // the H2 server has called Accept: it is set up (see serveH2)
}

func newConnQueue(addr net.Addr) *connQueue {
	return &connQueue{addr: addr, ch: make(chan net.Conn), done: make(chan struct{})}
}

func (q *connQueue) put(c net.Conn) bool {
	select {
	case q.ch <- c:
		return true
	case <-q.done:
		return false
	}
}

// Accept returns the next handed-off connection.
func (q *connQueue) Accept() (net.Conn, error) {
	q.ready.Store(true)
	select {
	case c := <-q.ch:
		return c, nil
	case <-q.done:
		return nil, net.ErrClosed
	}
}

// Close ends Accept.
func (q *connQueue) Close() error {
	q.once.Do(func() { close(q.done) })
	return nil
}

// Addr is the data-plane listener's address.
func (q *connQueue) Addr() net.Addr { return q.addr }

// peekedConn is a handed-off h2c connection whose first bytes were read
// into r. Every read goes through a pooled reader, not only those of the
// peeked bytes: net/http's HTTP/2 server reads a frame as two reads
// straight from its net.Conn (the 9-byte header, then the payload), so
// without one a gRPC call of a HEADERS and a DATA frame cost four read(2)
// calls, and with it the frames that arrived together take one (0.3 per
// call under load, against 4.2). The reader is held only while it has
// bytes: once drained it goes back to the pool and the next read waits in
// the poller without a buffer (rawconn.AwaitReadable) before borrowing
// one, so an idle HTTP/2 connection holds no read buffer. TLS connections
// need none of this: crypto/tls reads whole records.
// It is used by the one goroutine net/http's server reads frames on.
type peekedConn struct {
	net.Conn
	r *bufio.Reader // nil while nothing is buffered
}

func (p *peekedConn) Read(b []byte) (int, error) {
	if p.r == nil {
		if len(b) >= bufSize {
			return p.Conn.Read(b) // a buffer would only copy
		}
		if ok, err := rawconn.AwaitReadable(p.Conn); ok && err != nil {
			return 0, err
		}
		p.r = readers.Get().(*bufio.Reader)
		p.r.Reset(p.Conn)
	}
	n, err := p.r.Read(b)
	if p.r.Buffered() == 0 {
		p.r.Reset(nil)
		readers.Put(p.r)
		p.r = nil
	}
	return n, err
}
