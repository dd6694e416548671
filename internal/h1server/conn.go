package h1server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/turnout-gw/turnout/internal/rawconn"
)

// Connection states, for Shutdown: only an idle connection (waiting for
// the first byte of a request) may be closed under a client's feet.
const (
	stateActive int32 = iota
	stateIdle
	stateClosed
)

const bufSize = 4 << 10

// maxScratch is the most head scratch space a connection keeps between
// requests.
const maxScratch = 64 << 10

// preface is how an HTTP/2 client with prior knowledge (h2c) starts.
const preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// lingerTime bounds reading what a client still sends after a refusal,
// so that the refusal reaches it before the connection resets.
const lingerTime = 500 * time.Millisecond

var errTooManyFiles = syscall.EMFILE

// conn is one client connection, served by one goroutine at a time (serve,
// then loop again after parking). Its scratch space (header block, fields,
// response header map) is reused from one request to the next while the
// client is busy; an idle connection holds neither buffers nor scratch
// space (see park).
//
// The request header map is not reused: the proxy hands it to
// net/http's Transport for some requests, whose writer goroutine may
// still be iterating it when RoundTrip has returned (an upstream that
// answers early), and a reused map would then be written concurrently —
// a fatal error, not a panic.
type conn struct {
	srv        *Server
	rwc        net.Conn
	br         *bufio.Reader
	bw         *bufio.Writer
	state      atomic.Int32
	remoteAddr string
	tlsState   *tls.ConnectionState
	baseCtx    context.Context
	hijacked   bool // the handler owns rwc, br and bw
	handedOff  bool // the H2 server owns rwc

	whdr    http.Header // response header, reused
	left    int         // header bytes still allowed
	long    []byte      // a line longer than br's buffer
	block   []byte      // request line, uncommon keys and values
	str     string      // block as the string the request's fields point into
	fields  []field
	pending []byte // response body held back before its head
	watch   watcher

	lastPOST bool      // the last request was a POST (see readHead)
	idleEnd  time.Time // when a parked connection's idle timeout ends
	parked   bool      // counted in Server.parked
	// While in the server's poller (see poller): its id there, the
	// socket, the timer that closes it at idleEnd.
	pollID    uint64
	fd        int
	idleTimer *time.Timer
}

// exchange is what one request allocates besides the *http.Request.
type exchange struct {
	vals [16]string // the header values of most requests
	ctx  reqCtx
	url  url.URL
	body body
	w    response
}

func (s *Server) newConn(nc net.Conn) *conn {
	nc = rawconn.Wrap(nc)
	if s.TLSConfig != nil {
		nc = tls.Server(nc, s.TLSConfig)
	}
	c := &conn{srv: s, rwc: nc, remoteAddr: nc.RemoteAddr().String()}
	c.baseCtx = context.WithValue(context.Background(), http.LocalAddrContextKey, nc.LocalAddr())
	c.state.Store(stateIdle)
	return c
}

func (s *Server) readHeaderTimeout() time.Duration {
	if s.ReadHeaderTimeout > 0 {
		return s.ReadHeaderTimeout
	}
	return DefaultReadHeaderTimeout
}

func (s *Server) idleTimeout() time.Duration {
	if s.IdleTimeout > 0 {
		return s.IdleTimeout
	}
	return DefaultIdleTimeout
}

func (s *Server) writeTimeout() time.Duration {
	if s.WriteTimeout == 0 {
		return DefaultWriteTimeout
	}
	return s.WriteTimeout
}

func (s *Server) maxHeaderBytes() int {
	if s.MaxHeaderBytes > 0 {
		return s.MaxHeaderBytes
	}
	return DefaultMaxHeaderBytes
}

// serve runs the connection: requests one after the other until the
// client or a response closes it, a limit is hit, or the server shuts
// down.
func (c *conn) serve() {
	_ = c.rwc.SetReadDeadline(time.Now().Add(c.srv.readHeaderTimeout()))
	if tc, ok := c.rwc.(*tls.Conn); ok {
		if !c.handshake(tc) {
			c.close()
			return
		}
	}
	c.loop(true)
}

// loop serves requests until the connection ends, or until it parks (see
// park): then a new goroutine carries on with the next request.
func (c *conn) loop(first bool) {
	for ; ; first = false {
		switch c.await(first) {
		case awaitDone:
			c.close()
			return
		case awaitPark:
			c.park()
			return
		}
		if first && c.srv.H2 != nil && c.tlsState == nil {
			h2, err := c.h2Preface()
			if err != nil {
				c.close()
				return
			}
			if h2 {
				c.handOff(&peekedConn{Conn: c.rwc, r: c.br})
				return
			}
		}
		if !c.serveOne() {
			c.close()
			return
		}
	}
}

// handshake completes TLS; a connection that negotiated h2 goes to H2.
func (c *conn) handshake(tc *tls.Conn) bool {
	_ = tc.SetWriteDeadline(time.Now().Add(c.srv.readHeaderTimeout()))
	if err := tc.Handshake(); err != nil {
		return false
	}
	_ = tc.SetWriteDeadline(time.Time{})
	st := tc.ConnectionState()
	c.tlsState = &st
	if st.NegotiatedProtocol == "h2" && c.srv.H2 != nil {
		c.handOff(tc)
		return false
	}
	return true
}

// handOff gives an HTTP/2 connection to the H2 server: on this goroutine
// when it can (directH2), else through the queue H2 accepts from.
func (c *conn) handOff(nc net.Conn) {
	_ = c.rwc.SetReadDeadline(time.Time{})
	c.handedOff = true
	if c.bw != nil {
		c.bw.Reset(nil)
		writers.Put(c.bw)
	}
	c.br, c.bw = nil, nil // a peekedConn reads what br holds
	c.dropScratch()
	if fn := c.srv.directH2(nc); fn != nil {
		if pc, ok := nc.(*peekedConn); ok {
			_, _ = pc.r.Discard(len(preface)) // the HTTP/2 server is told it was read
		}
		c.serveH2(fn, nc)
		return
	}
	c.srv.remove(c)
	c.srv.handOff(nc)
}

// What await found.
const (
	awaitReady = iota // a request has begun
	awaitDone         // the connection ends
	awaitPark         // the connection stayed quiet for parkAfter
)

// await waits for the first byte of the next request, as an idle
// connection (Shutdown may close it meanwhile), then gives the head its
// deadline. A kept-alive connection waits with its buffers for parkAfter
// (a busy client's next request usually comes sooner), then parks; a new
// or parked one waits without buffers and takes them when bytes arrive.
func (c *conn) await(first bool) int {
	s := c.srv
	if c.br != nil && c.br.Buffered() > 0 {
		_ = c.rwc.SetReadDeadline(time.Now().Add(s.readHeaderTimeout()))
		return awaitReady
	}
	c.state.Store(stateIdle)
	if s.shuttingDown() {
		return awaitDone
	}
	if c.br == nil {
		if !c.awaitReadable() {
			return awaitDone
		}
		c.takeBuffers()
	} else {
		now := time.Now()
		c.idleEnd = now.Add(s.idleTimeout())
		short := parkAfter < s.idleTimeout()
		if short {
			_ = c.rwc.SetReadDeadline(now.Add(parkAfter)) // park sets idleEnd
		} else {
			_ = c.rwc.SetReadDeadline(c.idleEnd)
		}
		if _, err := c.br.Peek(1); err != nil {
			if short && isTimeout(err) && !s.shuttingDown() {
				return awaitPark
			}
			return awaitDone
		}
	}
	if !c.state.CompareAndSwap(stateIdle, stateActive) {
		return awaitDone
	}
	if !first && !c.headBuffered() {
		_ = c.rwc.SetReadDeadline(time.Now().Add(s.readHeaderTimeout()))
	}
	return awaitReady
}

// headBuffered reports whether a whole request head has arrived already:
// reading it cannot block, so it needs no deadline of its own.
func (c *conn) headBuffered() bool {
	b, _ := c.br.Peek(c.br.Buffered())
	return bytes.Contains(b, crlfcrlf)
}

var crlfcrlf = []byte("\r\n\r\n")

// h2Preface reports whether the connection starts with the HTTP/2
// preface, reading only as far as the bytes agree with it.
func (c *conn) h2Preface() (bool, error) {
	n := c.br.Buffered()
	for {
		m := min(n, len(preface))
		b, err := c.br.Peek(m)
		if err != nil {
			return false, err
		}
		if string(b) != preface[:m] {
			return false, nil
		}
		if m == len(preface) {
			return true, nil
		}
		n = m + 1
	}
}

// serveOne reads one request, runs the handler and completes the answer.
// It reports whether the connection can carry another request.
func (c *conn) serveOne() bool {
	x, r, err := c.readRequest()
	if err == nil && x.body.chunked {
		buffered, _ := c.br.Peek(c.br.Buffered())
		err = precheckChunks(buffered)
	}
	if err != nil {
		c.refuse(err)
		return false
	}
	if r.Body != http.NoBody {
		_ = c.rwc.SetReadDeadline(time.Time{}) // the body is read at the handler's pace
	}
	w := &x.w
	watch := r.Body == http.NoBody && c.br.Buffered() == 0 && c.srv.clientGoneAfter() > 0
	if watch {
		c.arm(&x.ctx)
	}
	ok := c.callHandler(w, r)
	if watch {
		c.disarm()
	}
	x.ctx.cancel()
	if c.hijacked {
		return false
	}
	if !ok {
		_ = c.bw.Flush()
		return false
	}
	var b *body
	if r.Body != http.NoBody {
		b = &x.body
		_ = c.rwc.SetReadDeadline(time.Now().Add(c.srv.readHeaderTimeout())) // bounds the drain
		if !w.committed && connectionClose(w.hdr) {
			b.abandon() // the answer closes the connection: what is left of the body is not waited for
			w.closeAfter = true
		} else if !w.committed && !b.finish() {
			w.closeAfter = true
		}
		if se := b.status(); se != nil && !w.wroteHeader {
			clear(w.hdr)
			w.closeAfter = true
			writeRefusal(w, se)
		}
	}
	w.finish()
	if b != nil && !b.finish() {
		w.closeAfter = true
	}
	if err := c.bw.Flush(); err != nil {
		return false
	}
	if w.closeAfter && b != nil && !b.eof {
		c.linger()
	}
	if cap(c.block) > maxScratch || cap(c.long) > maxScratch {
		c.block, c.long = nil, nil // a huge head does not pin its memory for the connection's life
	}
	return !w.closeAfter && !c.srv.shuttingDown()
}

// callHandler runs the handler, recovering a panic: http.ErrAbortHandler
// ends the connection silently, anything else is logged first.
func (c *conn) callHandler(w *response, r *http.Request) (ok bool) {
	defer func() {
		if e := recover(); e != nil {
			ok = false
			if e != http.ErrAbortHandler {
				c.srv.log().Error("panic serving request", "remote", c.remoteAddr, "uri", r.RequestURI,
					"panic", fmt.Sprint(e), "stack", string(debug.Stack()))
			}
		}
	}()
	c.srv.Handler.ServeHTTP(w, r)
	return true
}

// refuse answers a request the server will not serve (a *statusError)
// and closes; a read error or timeout just closes.
func (c *conn) refuse(err error) {
	var se *statusError
	if !errors.As(err, &se) {
		return
	}
	if c.srv.Refused != nil {
		c.srv.Refused(se.code, se.reason, se.msg)
	}
	msg := fmt.Sprintf("%d %s: %s", se.code, http.StatusText(se.code), se.msg)
	fmt.Fprintf(c.bw, "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s",
		se.code, http.StatusText(se.code), len(msg), msg)
	if c.bw.Flush() == nil {
		c.linger()
	}
}

// writeRefusal makes the handler's answer the refusal of a request whose
// body broke its framing.
func writeRefusal(w *response, se *statusError) {
	w.hdr["Content-Type"] = []string{"text/plain; charset=utf-8"}
	w.WriteHeader(se.code)
	_, _ = io.WriteString(w, se.msg+"\n")
}

// linger half-closes the connection and reads what the client still sends,
// for a bounded time, so that the answer is not lost to a reset.
func (c *conn) linger() {
	cw, ok := c.rwc.(interface{ CloseWrite() error })
	if !ok {
		return
	}
	_ = cw.CloseWrite()
	_ = c.rwc.SetReadDeadline(time.Now().Add(lingerTime))
	_, _ = io.CopyN(io.Discard, c.rwc, maxDrain)
}

func (c *conn) hijack() {
	c.hijacked = true
	_ = c.rwc.SetWriteDeadline(time.Time{}) // the new protocol's writes have no deadline of ours
	c.srv.remove(c)
}

// close ends the connection unless it was hijacked or handed off, and
// returns the buffers.
func (c *conn) close() {
	if c.hijacked || c.handedOff {
		return
	}
	if c.watch.timer != nil {
		c.watch.timer.Stop()
	}
	c.unpark()
	c.srv.remove(c)
	_ = c.rwc.Close()
	c.releaseBuffers()
}
