package upstream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/turnout-gw/turnout/internal/certs"
	"github.com/turnout-gw/turnout/internal/config"
)

// Pool is one named upstream: a set of targets behind one transport
// configuration. Pool is safe for concurrent use. Start starts health checks;
// Close stops them and closes idle connections.
type Pool struct {
	name       string
	targets    []*target // fixed after New
	tr         *transports
	log        *slog.Logger
	now        func() time.Time
	ejectAfter int64
	ejectFor   time.Duration
	health     *healthSpec // nil without active health checks
	maxConns   int64       // in-flight requests per target; 0 is no cap
	maxHeader  int64       // bytes of an answer's head (WithMaxResponseHeaderBytes)

	next  atomic.Uint64            // round-robin counter
	avail atomic.Pointer[rotation] // targets in rotation; replaced under mu

	mu      sync.Mutex // guards the state fields of targets and the lifecycle below
	started bool
	closed  bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// rotation is an immutable snapshot of the targets in rotation.
type rotation struct {
	targets []*target
	// recheckAt is when the earliest passive ejection expires (UnixNano of
	// the pool clock); only set for pools without health checks.
	hasRecheck bool
	recheckAt  int64
}

// TargetStatus is a snapshot of one target's state. ConsecutiveFailures counts
// connect failures of proxied requests; LastError is the latest connect or
// health-check error; LastCheck is the time of the latest health check (zero
// without health checks).
type TargetStatus struct {
	URL                 string
	Healthy             bool
	Ejected             bool
	ConsecutiveFailures int
	LastError           string
	LastCheck           time.Time
}

// Option configures a Pool in New.
type Option func(*Pool) error

// WithLogger sets the logger for ejections and health transitions (default
// slog.Default()). The pool adds an "upstream" attribute.
func WithLogger(l *slog.Logger) Option {
	return func(p *Pool) error {
		if l == nil {
			return errors.New("nil logger")
		}
		p.log = l
		return nil
	}
}

// WithClock sets the clock used for ejection cooldowns and status times
// (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(p *Pool) error {
		if now == nil {
			return errors.New("nil clock")
		}
		p.now = now
		return nil
	}
}

// WithMaxResponseHeaderBytes bounds the status line and headers of an
// answer (limits.max_response_header_bytes; default
// config.DefaultMaxResponseHeaderBytes): a larger answer fails the
// request with ErrResponseHeaderTooLarge once n bytes were read.
func WithMaxResponseHeaderBytes(n int64) Option {
	return func(p *Pool) error {
		if n < 0 {
			return fmt.Errorf("negative max_response_header_bytes %d", n)
		}
		if n > 0 {
			p.maxHeader = n
		}
		return nil
	}
}

// New builds the pool described by spec; spec.Name is the pool name. Target
// URLs must be http or https with a host and no user info, query or
// fragment; h2c pools take http targets and h2 pools https targets. Zero
// timeouts and counts take the config package defaults. New starts nothing:
// call Start for health checks.
func New(spec *config.Upstream, opts ...Option) (*Pool, error) {
	if spec == nil {
		return nil, errors.New("upstream: nil spec")
	}
	p, err := newPool(spec, opts)
	if err != nil {
		return nil, fmt.Errorf("upstream %q: %w", spec.Name, err)
	}
	return p, nil
}

func newPool(spec *config.Upstream, opts []Option) (*Pool, error) {
	protocol := spec.Protocol
	switch protocol {
	case "":
		protocol = config.ProtocolHTTP1
	case config.ProtocolHTTP1, config.ProtocolH2, config.ProtocolH2C:
	default:
		return nil, fmt.Errorf("unknown protocol %q (want %s, %s or %s)",
			protocol, config.ProtocolHTTP1, config.ProtocolH2, config.ProtocolH2C)
	}
	if len(spec.Targets) == 0 {
		return nil, errors.New("no targets")
	}
	timeout, ejectFor := spec.Timeout.D(), spec.EjectFor.D()
	switch {
	case timeout < 0:
		return nil, fmt.Errorf("negative timeout %v", timeout)
	case ejectFor < 0:
		return nil, fmt.Errorf("negative eject_for %v", ejectFor)
	case spec.EjectAfter < 0:
		return nil, fmt.Errorf("negative eject_after %d", spec.EjectAfter)
	}
	if timeout == 0 {
		timeout = config.DefaultUpstreamTO
	}
	if ejectFor == 0 {
		ejectFor = config.DefaultEjectFor
	}
	ejectAfter := spec.EjectAfter // an explicit 0 turns passive ejection off
	if ejectAfter == 0 && !spec.Has("eject_after") {
		ejectAfter = config.DefaultEjectAfter
	}

	p := &Pool{
		name:       spec.Name,
		log:        slog.Default(),
		now:        time.Now,
		ejectAfter: int64(ejectAfter),
		ejectFor:   ejectFor,
		maxConns:   int64(spec.MaxConnections),
		maxHeader:  config.DefaultMaxResponseHeaderBytes,
	}
	if spec.Health != nil {
		hs, err := newHealthSpec(spec.Health)
		if err != nil {
			return nil, err
		}
		p.health = hs
	}
	seen := make(map[string]bool, len(spec.Targets))
	for _, raw := range spec.Targets {
		t, err := parseTarget(raw, protocol)
		if err != nil {
			return nil, fmt.Errorf("target %q: %w", raw, err)
		}
		key := t.scheme + "://" + t.host + t.baseRaw
		if seen[key] {
			return nil, fmt.Errorf("target %q: duplicate target", raw)
		}
		seen[key] = true
		if p.health != nil {
			t.healthURL = p.health.url(t)
		}
		p.targets = append(p.targets, t)
	}
	for _, opt := range opts {
		if err := opt(p); err != nil {
			return nil, fmt.Errorf("option: %w", err)
		}
	}
	tlsConf, err := newTLSConfig(spec.TLS, certs.WithClock(p.now), certs.WithLogger(p.log))
	if err != nil {
		return nil, err
	}
	p.log = p.log.With("upstream", p.name)
	var plain []string
	for _, t := range p.targets {
		if t.scheme == "http" {
			plain = append(plain, t.host)
		}
	}
	h2, err := h2ConnsOf(spec.H2)
	if err != nil {
		return nil, err
	}
	p.tr = newTransports(protocol, tlsConf, timeout, p.maxHeader, h2, plain)
	p.avail.Store(&rotation{targets: p.targets})
	return p, nil
}

// Name returns the pool name.
func (p *Pool) Name() string { return p.name }

// RoundTrip picks a target round robin over the targets in rotation (all
// targets when none is: panic mode), points req.URL at it (scheme, host, base
// path; req.Host is left alone) and sends req with the transport for the
// pool's protocol. A connect failure counts toward the target's ejection; a
// response resets its count. The caller owns req; RoundTrip mutates req.URL
// only. Errors name the pool and target and wrap the transport's error.
//
// With max_connections, a target with that many requests in flight (until
// their response bodies are closed) is passed over for the next one; when
// every target is full the request fails at once with ErrAtCapacity (503).
func (p *Pool) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, _, err := p.Send(req)
	return resp, err
}

// Send is RoundTrip that also reports whether the transport may still read
// req after Send returned. It may when req went through net/http's
// Transport: its writer goroutine can still be writing the request (the
// body, or the end of the head after an Expect: 100-continue answered at
// once) when the answer is handed back, and it reads req's URL, header
// values and context (a ClientTrace) meanwhile. The caller must then never
// reuse what req refers to. When held is false (the h1 transport, which
// writes and reads on the caller's goroutine, or no round trip at all) the
// transport is done with req once Send returns.
func (p *Pool) Send(req *http.Request) (resp *http.Response, held bool, err error) {
	t, list := p.pick()
	if t = p.acquire(t, list); t == nil {
		return nil, false, p.capacityError()
	}
	t.apply(req.URL)
	rt := p.tr.pick(req)
	_, inline := rt.(*h1Transport)
	if !inline && req.GetBody != nil && !replayable(req) {
		// net/http's HTTP/2 client rewinds and resends a request after a
		// PROTOCOL_ERROR reset from the peer, which does not prove it
		// unprocessed. Without GetBody it resends only a request none of
		// whose body it has read, as its HTTP/1 client does.
		req.GetBody = nil
	}
	resp, err = rt.RoundTrip(req)
	p.release(t, resp)
	if err != nil {
		if IsConnectError(err) && req.Context().Err() == nil {
			p.connectFailed(t, err)
		}
		if !inline && stdHeaderTooLarge(err) {
			err = headerTooLarge(p.maxHeader, err)
		}
		return nil, !inline, &targetError{pool: p.name, target: t.raw, err: err}
	}
	if t.fails.Load() != 0 {
		t.fails.Store(0)
	}
	return resp, !inline, nil
}

// pick selects the next target. It takes no lock and does not allocate
// unless a passive ejection has expired and the rotation must be rebuilt.
func (p *Pool) pick() (*target, []*target) {
	r := p.avail.Load()
	if r.hasRecheck && p.now().UnixNano() >= r.recheckAt {
		r = p.refresh()
	}
	list := r.targets
	if len(list) == 0 {
		list = p.targets // panic mode
	}
	n := p.next.Add(1) - 1
	return list[n%uint64(len(list))], list
}

// refresh rebuilds the rotation (returning expired ejections) and returns it.
func (p *Pool) refresh() *rotation {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rebuildLocked(p.now())
	return p.avail.Load()
}

// rebuildLocked publishes a new rotation. Without health checks it first
// returns targets whose ejection has expired at now.
func (p *Pool) rebuildLocked(now time.Time) {
	r := &rotation{targets: make([]*target, 0, len(p.targets))}
	for _, t := range p.targets {
		if t.ejected && p.health == nil {
			if !now.Before(t.ejectedUntil) {
				t.ejected = false
				t.fails.Store(0)
				p.log.Info("target back in rotation", "target", t.raw, "reason", "eject_for elapsed")
			} else if at := t.ejectedUntil.UnixNano(); !r.hasRecheck || at < r.recheckAt {
				r.hasRecheck, r.recheckAt = true, at
			}
		}
		if !t.ejected && !t.unhealthy {
			r.targets = append(r.targets, t)
		}
	}
	p.avail.Store(r)
}

// connectFailed records a connect failure of t and ejects it at the limit.
func (p *Pool) connectFailed(t *target, err error) {
	n := t.fails.Add(1)
	p.mu.Lock()
	defer p.mu.Unlock()
	t.lastErr = err.Error()
	if t.ejected || p.ejectAfter == 0 || n < p.ejectAfter {
		return
	}
	now := p.now()
	t.ejected = true
	t.ejectedUntil = now.Add(p.ejectFor)
	p.rebuildLocked(now)
	if p.health != nil {
		p.log.Warn("target ejected until a health check passes", "target", t.raw, "failures", n, "error", err)
	} else {
		p.log.Warn("target ejected", "target", t.raw, "failures", n, "for", p.ejectFor, "error", err)
	}
}

// Status returns a snapshot of every target's state, in configuration order.
func (p *Pool) Status() []TargetStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if r := p.avail.Load(); r.hasRecheck && now.UnixNano() >= r.recheckAt {
		p.rebuildLocked(now)
	}
	out := make([]TargetStatus, len(p.targets))
	for i, t := range p.targets {
		out[i] = TargetStatus{
			URL:                 t.raw,
			Healthy:             !t.unhealthy,
			Ejected:             t.ejected,
			ConsecutiveFailures: int(t.fails.Load()),
			LastError:           t.lastErr,
			LastCheck:           t.lastCheck,
		}
	}
	return out
}

// Start starts the pool's health checks, if configured. It is a no-op when
// called again or after Close.
func (p *Pool) Start() {
	if p.health == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started || p.closed {
		return
	}
	p.started = true
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.healthLoop(ctx)
	}()
}

// Close stops health checks, waits for them to finish and closes idle
// connections. It is idempotent. Requests may still be sent after Close, but
// the pool is not restarted.
func (p *Pool) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	cancel := p.cancel
	p.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	p.wg.Wait()
	p.tr.close()
}
