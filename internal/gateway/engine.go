package gateway

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/turnout-gw/turnout/internal/h1server"
)

// EngineEnv names the environment variable that chooses the data plane's
// HTTP/1.x server when Server.Engine is empty: "net/http" for net/http's
// server (a fallback for diagnosis), anything else for Turnout's own
// (internal/h1server). The fallback stays because it is what h1server is
// measured against end to end (bench/run.sh's turnout-nethttp target) and
// a way to tell an h1server fault from any other; it costs serveData's
// switch, and on cleartext the framing guard (internal/framing, which the
// admin port needs anyway).
const EngineEnv = "TURNOUT_HTTP_SERVER"

// EngineNetHTTP is the Engine value that keeps net/http's server.
const EngineNetHTTP = "net/http"

// httpServer is what serves one listener: *http.Server or
// *h1server.Server.
type httpServer interface {
	Serve(net.Listener) error
	Shutdown(context.Context) error
	Close() error
}

func (s *Server) engine() string {
	if s.Engine != "" {
		return s.Engine
	}
	return os.Getenv(EngineEnv)
}

// serveData serves a data-plane listener. With the default engine,
// h1server serves HTTP/1.x (under TLS when tlsCfg is set) and hands the
// HTTP/2 connections (h2c preface, ALPN h2) to srv, which has the same
// handler and limits; with EngineNetHTTP, srv serves everything.
func (s *Server) serveData(srv *http.Server, ln net.Listener, tlsCfg *tls.Config) {
	if s.engine() == EngineNetHTTP {
		s.serve(srv, ln, tlsCfg)
		return
	}
	s.run(s.leanServer(srv, tlsCfg), ln)
}

// leanServer is the h1server for srv's handler and limits, with srv as its
// HTTP/2 server. Its refusals count as LimitHeaderBytes (431) and, for
// ambiguous Content-Length/Transfer-Encoding framing, LimitFraming; it
// needs no framing guard.
func (s *Server) leanServer(srv *http.Server, tlsCfg *tls.Config) *h1server.Server {
	h, wt := srv.Handler, time.Duration(0)
	if wb, ok := h.(writeBounded); ok { // h1server bounds its writes itself
		h, wt = wb.next, wb.d
	}
	return &h1server.Server{
		Handler:           h,
		ReadHeaderTimeout: srv.ReadHeaderTimeout,
		IdleTimeout:       srv.IdleTimeout,
		MaxHeaderBytes:    srv.MaxHeaderBytes,
		WriteTimeout:      wt,
		TLSConfig:         tlsCfg,
		H2:                srv,
		Log:               s.Log,
		Refused: func(status int, reason h1server.Reason, msg string) {
			switch reason {
			case h1server.ReasonHeaderTooLarge:
				s.Reject(LimitHeaderBytes)
			case h1server.ReasonFraming:
				s.Reject(LimitFraming)
			}
			s.Log.Debug("request refused", "status", status, "reason", reason.String(), "msg", msg)
		},
	}
}
