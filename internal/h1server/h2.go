package h1server

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
)

// The http.Server.TLSNextProto keys net/http's HTTP/2 server registers
// when it is set up (by its Serve): "h2" for TLS connections, and
// "unencrypted_http2" for plain ones that began with the h2c preface
// (already read), passed as a *tls.Conn whose net.Conn returns the real
// connection from UnencryptedNetConn.
const (
	nextProtoH2  = "h2"
	nextProtoH2C = "unencrypted_http2"
)

// directH2 returns H2's HTTP/2 server for nc, to be called on the
// connection's goroutine, or nil when it cannot be: H2 is not set up yet
// (its Serve has not reached Accept on the queue) or has per-connection
// hooks (BaseContext, ConnContext, ConnState) only its own Serve calls;
// then the connection goes through the queue. Served directly, the
// connection skips net/http's per-connection state, whose 4 KiB reader
// and 4 KiB writer it would hold for its whole life.
func (s *Server) directH2(nc net.Conn) func(*http.Server, *tls.Conn, http.Handler) {
	s.mu.Lock()
	q := s.h2q
	s.mu.Unlock()
	h := s.H2
	if q == nil || !q.ready.Load() || h.BaseContext != nil || h.ConnContext != nil || h.ConnState != nil {
		return nil
	}
	if _, ok := nc.(*tls.Conn); ok {
		return h.TLSNextProto[nextProtoH2]
	}
	return h.TLSNextProto[nextProtoH2C]
}

// serveH2 serves nc with fn (from directH2) until the connection ends. The
// connection stays one of the server's, active: Shutdown waits for it
// (H2's Shutdown sends it GOAWAY) and Close closes it.
func (c *conn) serveH2(fn func(*http.Server, *tls.Conn, http.Handler), nc net.Conn) {
	h := c.srv.H2
	tc, isTLS := nc.(*tls.Conn)
	if !isTLS {
		tc = tls.Client(unencryptedConn{conn: nc}, nil)
	}
	c.state.Store(stateActive)
	ctx := context.WithValue(c.baseCtx, http.ServerContextKey, h)
	fn(h, tc, h2Handler{ctx: ctx, srv: h, tc: tlsIf(isTLS, tc), remote: c.remoteAddr})
	_ = nc.Close()
	c.srv.remove(c)
}

func tlsIf(on bool, tc *tls.Conn) *tls.Conn {
	if on {
		return tc
	}
	return nil
}

// unencryptedConn is how net/http hands a plain connection to its HTTP/2
// server through TLSNextProto.
type unencryptedConn struct {
	net.Conn // nil: only UnencryptedNetConn is called
	conn     net.Conn
}

// UnencryptedNetConn returns the connection.
func (u unencryptedConn) UnencryptedNetConn() net.Conn { return u.conn }

// h2Handler is the handler net/http's Serve would give its HTTP/2 server
// for one connection: the connection's base context (BaseContext, which
// the HTTP/2 server looks for), the request fields it fills in, and the
// server-wide OPTIONS * answer.
type h2Handler struct {
	ctx    context.Context
	srv    *http.Server
	tc     *tls.Conn // nil for h2c
	remote string
}

// BaseContext is the connection's context, the parent of its requests'.
func (h h2Handler) BaseContext() context.Context { return h.ctx }

func (h h2Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.TLS == nil && h.tc != nil {
		st := h.tc.ConnectionState()
		r.TLS = &st
	}
	if r.Body == nil {
		r.Body = http.NoBody
	}
	if r.RemoteAddr == "" {
		r.RemoteAddr = h.remote
	}
	if !h.srv.DisableGeneralOptionsHandler && r.RequestURI == "*" && r.Method == http.MethodOptions {
		w.Header().Set("Content-Length", "0")
		if r.ContentLength != 0 {
			_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 4<<10))
		}
		return
	}
	handler := h.srv.Handler
	if handler == nil {
		handler = http.DefaultServeMux
	}
	handler.ServeHTTP(w, r)
}
