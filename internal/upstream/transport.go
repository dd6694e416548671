package upstream

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/turnout-gw/turnout/internal/certs"
	"github.com/turnout-gw/turnout/internal/config"
)

// Transport tuning shared by every pool.
const (
	dialTimeout           = 5 * time.Second
	dialKeepAlive         = 30 * time.Second
	tlsHandshakeTimeout   = 10 * time.Second
	idleConnTimeout       = 90 * time.Second
	maxIdleConns          = 4096
	maxIdleConnsPerHost   = 512
	expectContinueTimeout = 1 * time.Second
)

// h2Conns is how a pool keeps its HTTP/2 connections healthy: a connection
// that received no frame for pingInterval (0: never) is sent a PING and
// closed when the answer takes longer than pingTimeout; its requests then
// fail and new ones go on another connection.
type h2Conns struct {
	pingInterval time.Duration
	pingTimeout  time.Duration
}

// h2ConnsOf returns the settings of spec (upstreams.NAME.h2, nil for the
// defaults). A zero ping_interval sends no PING only when written.
func h2ConnsOf(spec *config.UpstreamH2) (h2Conns, error) {
	c := h2Conns{pingInterval: config.DefaultH2PingInterval, pingTimeout: config.DefaultH2PingTimeout}
	if spec == nil {
		return c, nil
	}
	switch {
	case spec.PingInterval < 0:
		return c, fmt.Errorf("negative h2.ping_interval %v", spec.PingInterval.D())
	case spec.PingTimeout < 0:
		return c, fmt.Errorf("negative h2.ping_timeout %v", spec.PingTimeout.D())
	}
	c.pingInterval, c.pingTimeout = spec.Pings()
	return c, nil
}

const (
	alpnH1 = "http/1.1"
	alpnH2 = "h2"
)

// transports is the small set of transports of one pool. They share a dialer
// and a TLS configuration but not connections.
type transports struct {
	// fast serves the plain requests to http targets of an http1 pool (nil
	// for other protocols); see h1Transport.fits.
	fast    *h1Transport
	std     *http.Transport // pool protocol, ResponseHeaderTimeout = pool timeout
	grpc    *http.Transport // pool protocol, no response-header timeout
	upgrade *http.Transport // HTTP/1.1 only, for requests with an Upgrade header
	// health is the pool protocol without keep-alives: every check dials a
	// fresh connection. Its connections are tracked so that close leaves
	// none behind, even one whose dial outlived a cancelled check.
	health        *http.Transport
	healthTracker *connTracker
}

// dialFunc is the signature of net.Dialer.DialContext.
type dialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// newTransports builds the transports for protocol (already validated).
// tlsConf is the base client TLS configuration for https targets; plainHosts
// are the host:port of the pool's http targets. maxHeader bounds every
// transport's answer heads; h2 keeps HTTP/2 connections healthy.
func newTransports(protocol string, tlsConf *tls.Config, headerTimeout time.Duration, maxHeader int64, h2 h2Conns, plainHosts []string) *transports {
	dial := (&net.Dialer{Timeout: dialTimeout, KeepAlive: dialKeepAlive}).DialContext

	var h1 http.Protocols
	h1.SetHTTP1(true)
	h1ALPN := []string{alpnH1}

	proto, protoALPN := h1, h1ALPN
	switch protocol {
	case config.ProtocolH2:
		proto = http.Protocols{}
		proto.SetHTTP1(true)
		proto.SetHTTP2(true)
		protoALPN = []string{alpnH2, alpnH1}
	case config.ProtocolH2C:
		// Only UnencryptedHTTP2: net/http then speaks HTTP/2 with prior
		// knowledge to http:// URLs. Adding HTTP1 would turn it off.
		proto = http.Protocols{}
		proto.SetUnencryptedHTTP2(true)
	}

	s := &transports{
		std:           newTransport(dial, tlsConf, proto, protoALPN, headerTimeout, maxHeader, h2),
		grpc:          newTransport(dial, tlsConf, proto, protoALPN, 0, maxHeader, h2),
		healthTracker: &connTracker{conns: make(map[*trackedConn]struct{})},
	}
	if protocol == config.ProtocolH2 || protocol == config.ProtocolH2C {
		s.upgrade = newTransport(dial, tlsConf, h1, h1ALPN, headerTimeout, maxHeader, h2)
	} else {
		s.upgrade = s.std
	}
	if protocol == config.ProtocolHTTP1 && len(plainHosts) > 0 {
		s.fast = newH1Transport(dial, headerTimeout, maxHeader, plainHosts)
	}
	s.health = newTransport(s.healthTracker.wrap(dial), tlsConf, proto, protoALPN, 0, maxHeader, h2)
	s.health.DisableKeepAlives = true
	return s
}

// newTransport returns one proxy-tuned transport. TLS is done by our own
// DialTLSContext so that handshake failures are recognisable (see
// handshakeError); alpn is what it offers in the handshake. maxHeader
// bounds an answer's head (MaxResponseHeaderBytes).
//
// Its HTTP/2 connections are net/http's: each carries as many requests at
// once as the target's MAX_CONCURRENT_STREAMS allows, and a request finding
// every connection full opens another (StrictMaxConcurrentRequests off)
// instead of waiting; each stream has its own flow-control window, so an
// answer nobody reads stalls its stream only. h2 sets the PING checks.
//
// A burst of calls finding no free stream dials a connection per call and
// keeps the ones it needs (the others are closed at once).
// MaxConnsPerHost would bound those dials but can leave HTTP/2 requests
// waiting for ever (golang/go#34941), and would cap the HTTP/1.1
// connections of an h2 pool's target answering in HTTP/1.1; it stays 0.
func newTransport(dial dialFunc, tlsConf *tls.Config, protos http.Protocols, alpn []string, headerTimeout time.Duration, maxHeader int64, h2 h2Conns) *http.Transport {
	cfg := tlsConf.Clone()
	cfg.NextProtos = alpn
	td := &tlsDialer{dial: dial, cfg: cfg}
	return &http.Transport{
		Proxy:                  nil, // a gateway does not follow HTTP_PROXY from its environment
		DialContext:            dial,
		DialTLSContext:         td.dialTLS,
		MaxIdleConns:           maxIdleConns,
		MaxIdleConnsPerHost:    maxIdleConnsPerHost,
		IdleConnTimeout:        idleConnTimeout,
		TLSHandshakeTimeout:    tlsHandshakeTimeout, // enforced by tlsDialer; kept for readers
		DisableCompression:     true,                // a proxy must not add Accept-Encoding
		ResponseHeaderTimeout:  headerTimeout,
		MaxResponseHeaderBytes: maxHeader,
		ExpectContinueTimeout:  expectContinueTimeout,
		Protocols:              &protos,
		HTTP2: &http.HTTP2Config{
			StrictMaxConcurrentRequests: false,
			SendPingTimeout:             h2.pingInterval,
			PingTimeout:                 h2.pingTimeout,
		},
	}
}

// pick returns the transport for req. It does not allocate.
func (s *transports) pick(req *http.Request) http.RoundTripper {
	h := req.Header
	if up := h["Upgrade"]; len(up) > 0 && up[0] != "" {
		return s.upgrade
	}
	if ct := h["Content-Type"]; len(ct) > 0 && isGRPC(ct[0]) {
		return s.grpc
	}
	if s.fast != nil && s.fast.fits(req) {
		return s.fast
	}
	return s.std
}

// isGRPC reports whether a Content-Type names a gRPC (or gRPC-Web) payload.
func isGRPC(ct string) bool {
	const prefix = "application/grpc"
	return len(ct) >= len(prefix) && strings.EqualFold(ct[:len(prefix)], prefix)
}

// close closes the idle connections of the proxying transports and every
// connection of the health transport, which must not be used afterwards.
func (s *transports) close() {
	if s.fast != nil {
		s.fast.close()
	}
	s.std.CloseIdleConnections()
	s.grpc.CloseIdleConnections()
	if s.upgrade != s.std {
		s.upgrade.CloseIdleConnections()
	}
	s.healthTracker.closeAll()
	s.health.CloseIdleConnections()
}

// errClosed is returned by a tracked dial after closeAll.
var errClosed = errors.New("upstream pool closed")

// connTracker records the open connections made through wrap so that
// closeAll can close them all.
type connTracker struct {
	mu     sync.Mutex
	closed bool
	conns  map[*trackedConn]struct{}
}

// wrap returns dial with its connections tracked. After closeAll it refuses
// to hand out connections.
func (ct *connTracker) wrap(dial dialFunc) dialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		tc := &trackedConn{Conn: c, ct: ct}
		ct.mu.Lock()
		defer ct.mu.Unlock()
		if ct.closed {
			_ = c.Close()
			return nil, errClosed
		}
		ct.conns[tc] = struct{}{}
		return tc, nil
	}
}

// closeAll closes every tracked connection and refuses new ones.
func (ct *connTracker) closeAll() {
	ct.mu.Lock()
	ct.closed = true
	conns := ct.conns
	ct.conns = nil
	ct.mu.Unlock()
	for c := range conns {
		_ = c.Conn.Close()
	}
}

// trackedConn forgets itself when closed.
type trackedConn struct {
	net.Conn
	ct *connTracker
}

func (c *trackedConn) Close() error {
	c.ct.mu.Lock()
	delete(c.ct.conns, c)
	c.ct.mu.Unlock()
	return c.Conn.Close()
}

// newTLSConfig builds the base client TLS configuration of a pool.
// A client certificate (cert and key) is presented to targets that ask
// for one and re-read when its files change.
func newTLSConfig(spec *config.UpstreamTLS, opts ...certs.Option) (*tls.Config, error) {
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ClientSessionCache: tls.NewLRUClientSessionCache(0),
	}
	if spec == nil {
		return cfg, nil
	}
	cfg.ServerName = spec.ServerName
	cfg.InsecureSkipVerify = spec.InsecureSkipVerify //nolint:gosec // explicit operator choice
	if spec.CA != "" {
		pool, err := certs.LoadPool(spec.CA)
		if err != nil {
			return nil, fmt.Errorf("read tls ca: %w", err)
		}
		cfg.RootCAs = pool
	}
	if spec.Cert != "" {
		kp, err := certs.NewKeyPair("upstream tls client certificate", spec.Cert, spec.Key, opts...)
		if err != nil {
			return nil, err
		}
		cfg.GetClientCertificate = kp.GetClientCertificate
	}
	return cfg, nil
}

// tlsDialer dials TCP and performs the TLS handshake itself, so that every
// handshake failure reaches the caller as a *handshakeError.
type tlsDialer struct {
	dial dialFunc
	cfg  *tls.Config // NextProtos set; ServerName may be empty
}

func (td *tlsDialer) dialTLS(ctx context.Context, network, addr string) (net.Conn, error) {
	conn, err := td.dial(ctx, network, addr)
	if err != nil {
		return nil, err // *net.OpError with Op "dial"
	}
	cfg := td.cfg
	if cfg.ServerName == "" {
		host, _, splitErr := net.SplitHostPort(addr)
		if splitErr != nil {
			host = addr
		}
		cfg = cfg.Clone()
		cfg.ServerName = host
	}
	tc := tls.Client(conn, cfg)
	hctx, cancel := context.WithTimeout(ctx, tlsHandshakeTimeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		_ = conn.Close()
		return nil, &handshakeError{addr: addr, err: err}
	}
	return tc, nil
}

// handshakeError is a TLS handshake failure with a target: the request never
// reached it.
type handshakeError struct {
	addr string
	err  error
}

func (e *handshakeError) Error() string {
	return "tls handshake with " + e.addr + ": " + e.err.Error()
}

func (e *handshakeError) Unwrap() error { return e.err }

// IsConnectError reports whether err means the request never reached the
// upstream (dial failure, connection refused, TLS handshake failure), so it
// is safe to retry even a non-idempotent request.
//
// It recognises the errors of this package's transports precisely and, for
// errors from other transports, the common TLS verification and record
// errors and net/http's TLS handshake timeout. A response-header timeout or
// a connection broken after the request was written is not a connect error.
func IsConnectError(err error) bool {
	if err == nil {
		return false
	}
	var he *handshakeError
	if errors.As(err, &he) {
		return true
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var (
		rh tls.RecordHeaderError
		cv *tls.CertificateVerificationError
		ua x509.UnknownAuthorityError
		hn x509.HostnameError
		ci x509.CertificateInvalidError
	)
	if errors.As(err, &rh) || errors.As(err, &cv) || errors.As(err, &ua) ||
		errors.As(err, &hn) || errors.As(err, &ci) {
		return true
	}
	// net/http's own handshake timeout (unexported type).
	return strings.Contains(err.Error(), "net/http: TLS handshake timeout")
}
