package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/turnout-gw/turnout/internal/certs"
	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/core"
	"github.com/turnout-gw/turnout/internal/framing"
	"github.com/turnout-gw/turnout/internal/reuseport"
)

// Server owns the listening sockets: the data plane (HTTP/1.1 and h2c on
// one port, optional TLS with h2) and the admin port. Start (or Listen)
// binds them all before returning, so an address in use is an error at
// start, not later. Listen, Serve and Close are called once, in that
// order, from one goroutine; Addr, Err and Shutdown are safe to call from
// any goroutine afterwards.
type Server struct {
	Data  http.Handler
	Admin http.Handler
	Log   *slog.Logger
	// Now paces the checks of certificate files (default time.Now).
	Now func() time.Time
	// Reject is told when a limit refuses a request (LimitInFlight,
	// LimitHeaderBytes, LimitFraming); nil ignores it. It must be safe for
	// concurrent use.
	Reject func(limit string)

	// Bind binds each address (default reuseport.Listen: exclusive, with
	// SO_REUSEPORT; a takeover binds beside the old Turnout).
	Bind func(addr string) (net.Listener, error)

	// Engine chooses the data plane's HTTP/1.x server: "" (from
	// TURNOUT_HTTP_SERVER, default "turnout") is internal/h1server,
	// "net/http" is net/http's (see dataServer).
	Engine string

	mu        sync.Mutex
	servers   []httpServer
	listeners []net.Listener
	addr      string
	tlsAddr   string
	adminAddr string
	errc      chan error
	bound     bound // listeners bound by Listen, not yet served
}

// bound are the listeners Listen opened; nil for the ones cfg has none of.
type bound struct{ data, tls, admin net.Listener }

// Start binds and serves according to cfg's listen, tls, admin and limits.
func (s *Server) Start(cfg *config.Config) error {
	if err := s.Listen(cfg); err != nil {
		return err
	}
	return s.Serve(cfg)
}

// Listen binds every listener cfg names (data plane, extra TLS, admin) with
// Bind without serving them yet: an address another Turnout holds is an
// error (*reuseport.InUseError) unless Bind binds beside it (a takeover: the
// new process binds its addresses while the old one still serves them, then
// opens the state store the old one releases when it stops accepting).
// Connections that arrive in between wait in the kernel's accept queue.
// Close releases listeners that are never served.
func (s *Server) Listen(cfg *config.Config) error {
	if s.Bind == nil {
		s.Bind = reuseport.Listen
	}
	ln, err := s.Bind(cfg.Listen)
	if err != nil {
		return fmt.Errorf("data plane listen %s: %w", cfg.Listen, err)
	}
	s.bound = bound{data: ln}
	if cfg.TLS != nil && cfg.TLS.Listen != "" {
		if s.bound.tls, err = s.Bind(cfg.TLS.Listen); err != nil {
			s.Close()
			return fmt.Errorf("TLS listen %s: %w", cfg.TLS.Listen, err)
		}
	}
	if cfg.Admin.Listen != "" {
		if s.bound.admin, err = s.Bind(cfg.Admin.Listen); err != nil {
			s.Close()
			return fmt.Errorf("admin listen %s: %w", cfg.Admin.Listen, err)
		}
	}
	s.addr = ln.Addr().String()
	if s.bound.tls != nil {
		s.tlsAddr = s.bound.tls.Addr().String()
	}
	if s.bound.admin != nil {
		s.adminAddr = s.bound.admin.Addr().String()
	}
	return nil
}

// Close closes listeners bound by Listen and not yet served.
func (s *Server) Close() {
	for _, ln := range []net.Listener{s.bound.data, s.bound.tls, s.bound.admin} {
		if ln != nil {
			_ = ln.Close()
		}
	}
	s.bound = bound{}
}

// Serve serves the listeners bound by Listen with Data and Admin (an admin
// listener is closed when Admin is nil).
func (s *Server) Serve(cfg *config.Config) error {
	if s.Log == nil {
		s.Log = slog.Default()
	}
	if s.bound.data == nil {
		return errors.New("gateway: Serve without Listen")
	}
	s.errc = make(chan error, 4)
	if s.Reject == nil {
		s.Reject = func(string) {}
	}
	lim := cfg.Limits
	writeTimeout := orDefault(lim.WriteTimeout.D(), config.DefaultWriteTimeout)
	data := writeBounded{next: newLimiter(s.Data, lim, s.Reject), d: writeTimeout}
	newSrv := func(h http.Handler, tlsOn bool) *http.Server {
		srv := &http.Server{
			Handler:           h,
			ReadHeaderTimeout: orDefault(lim.ReadHeaderTimeout.D(), config.DefaultReadHeader),
			IdleTimeout:       orDefault(lim.IdleTimeout.D(), config.DefaultIdleTimeout),
			MaxHeaderBytes:    int(orDefaultSize(lim.MaxHeaderBytes, config.DefaultMaxHeaderBytes)),
			ErrorLog:          slog.NewLogLogger(s.Log.Handler(), slog.LevelDebug),
			HTTP2:             &http.HTTP2Config{WriteByteTimeout: writeTimeout},
		}
		p := new(http.Protocols)
		p.SetHTTP1(true)
		if tlsOn {
			p.SetHTTP2(true)
		} else {
			p.SetUnencryptedHTTP2(true)
		}
		srv.Protocols = p
		return srv
	}
	tlsCfg, adminTLS, err := s.tlsConfigs(cfg)
	if err != nil {
		s.Close()
		return err
	}
	b := s.bound
	s.bound = bound{}
	mainTLS := tlsCfg != nil && b.tls == nil
	s.serveData(newSrv(data, mainTLS), b.data, tlsCfgIf(mainTLS, tlsCfg))
	if b.tls != nil {
		s.serveData(newSrv(data, true), b.tls, tlsCfg)
	}
	if b.admin != nil && s.Admin == nil {
		_ = b.admin.Close()
	} else if b.admin != nil {
		s.serve(newSrv(s.Admin, false), b.admin, adminTLS)
	}
	return nil
}

// tlsConfigs builds the data plane's and the admin port's TLS
// configurations (nil when not configured); both reload their files.
func (s *Server) tlsConfigs(cfg *config.Config) (data, admin *tls.Config, err error) {
	opts := []certs.Option{certs.WithLogger(s.Log)}
	if s.Now != nil {
		opts = append(opts, certs.WithClock(s.Now))
	}
	if cfg.TLS != nil {
		if data, err = certs.Server(core.ServerTLSPaths(cfg, cfg.TLS), opts...); err != nil {
			return nil, nil, err
		}
	}
	if cfg.Admin.TLS != nil {
		if admin, err = certs.Admin(core.AdminTLSPaths(cfg, cfg.Admin.TLS), opts...); err != nil {
			return nil, nil, err
		}
	}
	return data, admin, nil
}

func tlsCfgIf(on bool, c *tls.Config) *tls.Config {
	if on {
		return c
	}
	return nil
}

// serve serves srv on ln: through TLS when tlsCfg is set, else behind the
// framing guard (which cannot see inside TLS).
func (s *Server) serve(srv *http.Server, ln net.Listener, tlsCfg *tls.Config) {
	if tlsCfg != nil {
		srv.TLSConfig = tlsCfg
		ln = tls.NewListener(ln, tlsCfg)
	} else {
		ln = framing.Listener(ln, func(reason string) {
			s.Reject(LimitFraming)
			s.Log.Debug("ambiguous request framing refused", "reason", reason)
		})
	}
	s.run(srv, ln)
}

// run serves ln with srv on its own goroutine; Shutdown stops it.
func (s *Server) run(srv httpServer, ln net.Listener) {
	s.mu.Lock()
	s.servers = append(s.servers, srv)
	s.listeners = append(s.listeners, ln)
	s.mu.Unlock()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.errc <- err
		}
	}()
}

// Addr is the bound data-plane address.
func (s *Server) Addr() string { return s.addr }

// TLSAddr is the bound extra HTTPS address ("" when none).
func (s *Server) TLSAddr() string { return s.tlsAddr }

// AdminAddr is the bound admin address.
func (s *Server) AdminAddr() string { return s.adminAddr }

// Err delivers a serving error (a listener that failed after start).
func (s *Server) Err() <-chan error { return s.errc }

// Shutdown stops accepting, lets in-flight requests finish until ctx ends,
// then closes what is left.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	servers := s.servers
	s.servers = nil
	s.mu.Unlock()
	var wg sync.WaitGroup
	errs := make([]error, len(servers))
	for i, srv := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Shutdown(ctx); err != nil {
				_ = srv.Close()
				errs[i] = err
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

func orDefaultSize(z config.Size, def int64) int64 {
	if z <= 0 {
		return def
	}
	return int64(z)
}
