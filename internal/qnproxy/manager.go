package qnproxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/reuseport"
	"github.com/turnout-gw/turnout/internal/route"
	"github.com/turnout-gw/turnout/internal/stats"
	"github.com/turnout-gw/turnout/qn"
)

// Options configure a Manager.
type Options struct {
	// Table returns the current routing table (required). It is read for
	// every new connection and polled for changes every Tick.
	Table func() *route.Table
	// Stats receives the DATA → answer outcomes and connect failures.
	Stats *stats.Registry
	// Observer is told about connections, frames and losses (metrics).
	Observer Observer
	Log      *slog.Logger
	// Registry names the fields for translation and loss metrics
	// (default qn.Default()).
	Registry *qn.Registry
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Tick is how often the table is checked for changes that move open
	// connections to another version (default 200ms).
	Tick time.Duration
	// Listen binds a service's address (default reuseport.Listen,
	// exclusive; a takeover binds beside the old Turnout). It must be safe
	// for concurrent use.
	Listen func(addr string) (net.Listener, error)
}

// Manager runs the listeners of every QN service of the configuration.
type Manager struct {
	o        Options
	log      *slog.Logger
	obs      Observer
	reg      *qn.Registry
	now      func() time.Time
	counters counters
	targets  *targetHealth

	mu        sync.Mutex
	listeners map[string]*listener // by service name
	closed    bool
	stop      chan struct{}
	done      chan struct{}
}

// New returns a Manager; Update starts its listeners.
func New(o Options) (*Manager, error) {
	if o.Table == nil {
		return nil, errors.New("qnproxy: Options.Table is required")
	}
	m := &Manager{o: o, log: o.Log, obs: o.Observer, reg: o.Registry, now: o.Now,
		listeners: map[string]*listener{}, stop: make(chan struct{}), done: make(chan struct{})}
	if m.log == nil {
		m.log = slog.Default()
	}
	if m.o.Listen == nil {
		m.o.Listen = reuseport.Listen
	}
	if m.obs == nil {
		m.obs = nopObserver{}
	}
	if m.reg == nil {
		m.reg = qn.Default()
	}
	if m.now == nil {
		m.now = time.Now
	}
	m.targets = newTargetHealth(m.now)
	tick := o.Tick
	if tick <= 0 {
		tick = 200 * time.Millisecond
	}
	go m.watch(tick)
	return m, nil
}

// Update adopts a configuration: it starts a listener for each new QN
// service, closes the listeners (and connections) of services gone, and
// warns when a service's listen address changed (that needs a restart).
// Errors binding new listeners are returned together; the others keep
// serving.
func (m *Manager) Update(cfg *config.Config) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errors.New("qnproxy: closed")
	}
	var errs []error
	m.targets.forget(cfg)
	want := map[string]*config.Service{}
	for _, name := range cfg.ServiceNames() {
		if s := cfg.Services[name]; s.IsQN() {
			want[name] = s
		}
	}
	for name, l := range m.listeners {
		if _, ok := want[name]; !ok {
			m.log.Info("qn listener closed: service removed", "service", name, "listen", l.addr)
			l.close()
			delete(m.listeners, name)
		}
	}
	for _, name := range sortedNames(want) {
		s := want[name]
		if l := m.listeners[name]; l != nil {
			if l.addr != s.Listen {
				m.log.Warn("qn service listen address changed; it takes effect at the next start", "service", name,
					"listening", l.addr, "configured", s.Listen)
			}
			continue
		}
		l, err := m.listen(name, s.Listen)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: services.%s.listen: %w", s.PosOf("listen"), name, err))
			continue
		}
		m.listeners[name] = l
		m.log.Info("qn listening", "service", name, "listen", l.ln.Addr().String())
	}
	return errors.Join(errs...)
}

// Targets returns the passive health of the tcp:// targets of upstream in
// cfg, or nil when cfg has no such tcp:// upstream.
func (m *Manager) Targets(cfg *config.Config, upstream string) []TargetStatus {
	u := cfg.Upstreams[upstream]
	if u == nil || !u.IsTCP() {
		return nil
	}
	return m.targets.status(upstream, u)
}

// Addr returns the bound address of service's listener, or nil.
func (m *Manager) Addr(service string) net.Addr {
	m.mu.Lock()
	defer m.mu.Unlock()
	if l := m.listeners[service]; l != nil {
		return l.ln.Addr()
	}
	return nil
}

// Stats returns the counters of each version of service.
func (m *Manager) Stats(service string) map[string]VersionStats { return m.counters.stats(service) }

// Close stops every listener and closes every connection; ctx bounds the
// wait for connection goroutines to finish.
func (m *Manager) Close(ctx context.Context) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	ls := m.listeners
	m.listeners = map[string]*listener{}
	m.mu.Unlock()
	close(m.stop)
	<-m.done
	for _, l := range ls {
		l.close()
	}
	for _, l := range ls {
		select {
		case <-l.finished():
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// watch re-examines open connections when the table changes and closes
// the ones whose grace ran out.
func (m *Manager) watch(tick time.Duration) {
	defer close(m.done)
	t := time.NewTicker(tick)
	defer t.Stop()
	var last *route.Table
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
		}
		tab := m.o.Table()
		changed := tab != last
		last = tab
		m.mu.Lock()
		ls := make([]*listener, 0, len(m.listeners))
		for _, l := range m.listeners {
			ls = append(ls, l)
		}
		m.mu.Unlock()
		now := m.now()
		for _, l := range ls {
			l.review(tab, changed, now)
		}
	}
}

func sortedNames(m map[string]*config.Service) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// listener is the TCP listener of one QN service.
type listener struct {
	m       *Manager
	service string
	addr    string
	ln      net.Listener
	active  atomic.Int64
	rr      atomic.Uint64 // round robin over targets

	mu       sync.Mutex
	sessions map[*session]struct{}
	wg       sync.WaitGroup
	closing  chan struct{}
}

func (m *Manager) listen(service, addr string) (*listener, error) {
	ln, err := m.o.Listen(addr)
	if err != nil {
		return nil, err
	}
	l := &listener{m: m, service: service, addr: addr, ln: ln, sessions: map[*session]struct{}{}, closing: make(chan struct{})}
	l.wg.Add(1)
	go l.serve()
	return l, nil
}

func (l *listener) serve() {
	defer l.wg.Done()
	var delay time.Duration
	for {
		c, err := l.ln.Accept()
		if err != nil {
			select {
			case <-l.closing:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: back off, keep serving.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			l.m.log.Warn("qn accept failed", "service", l.service, "error", err, "retry_in", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		opts := l.options()
		if n := l.active.Add(1); opts != nil && n > int64(opts.MaxConnections) && opts.MaxConnections > 0 {
			l.active.Add(-1)
			l.m.obs.Rejected(l.service, RejectCapacity)
			l.m.log.Warn("qn connection refused: max_connections reached", "service", l.service, "remote", c.RemoteAddr().String(), "max_connections", opts.MaxConnections)
			_ = c.Close()
			continue
		}
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			defer l.active.Add(-1)
			l.handle(c)
		}()
	}
}

// options returns the service's current qn settings (defaults applied), or
// nil when the service is no longer in the table.
func (l *listener) options() *config.QNOptions {
	tab := l.m.o.Table()
	if tab == nil {
		return nil
	}
	s := tab.Service(l.service)
	if s == nil {
		return nil
	}
	if s.QN == nil {
		return &config.QNOptions{Grace: config.Duration(config.DefaultQNGrace), FirstFrameTimeout: config.Duration(config.DefaultQNFirstFrameTimeout),
			IdleTimeout: config.Duration(config.DefaultQNIdleTimeout), ConnectTimeout: config.Duration(config.DefaultQNConnectTimeout),
			MaxConnections: config.DefaultQNMaxConnections, MaxFrame: config.DefaultQNMaxFrame}
	}
	return s.QN
}

func (l *listener) close() {
	select {
	case <-l.closing:
		return
	default:
	}
	close(l.closing)
	_ = l.ln.Close()
	l.mu.Lock()
	for s := range l.sessions {
		s.close()
	}
	l.mu.Unlock()
}

func (l *listener) finished() <-chan struct{} {
	ch := make(chan struct{})
	go func() { l.wg.Wait(); close(ch) }()
	return ch
}

func (l *listener) add(s *session) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case <-l.closing:
		return false
	default:
	}
	l.sessions[s] = struct{}{}
	return true
}

func (l *listener) remove(s *session) {
	l.mu.Lock()
	delete(l.sessions, s)
	l.mu.Unlock()
}

// review checks each open connection against the current table: one that
// the table no longer sends to its version is closed after grace (and
// forgiven if the table sends it back before then).
func (l *listener) review(tab *route.Table, changed bool, now time.Time) {
	l.mu.Lock()
	ss := make([]*session, 0, len(l.sessions))
	for s := range l.sessions {
		ss = append(ss, s)
	}
	l.mu.Unlock()
	if len(ss) == 0 {
		return
	}
	var svc *route.Service
	if tab != nil {
		svc = tab.Service(l.service)
	}
	grace := time.Duration(config.DefaultQNGrace)
	if svc != nil && svc.QN != nil {
		grace = svc.QN.Grace.D()
	}
	for _, s := range ss {
		s.expire(now)
		if changed {
			v, _ := Pick(svc, s.devVer, s.bucket)
			if v == nil || v.Name != s.version {
				if s.displacedAt.IsZero() {
					s.displacedAt = now
					to := "none"
					if v != nil {
						to = v.Name
					}
					l.m.log.Info("qn connection's version lost the device; closing after grace", "service", l.service,
						"version", s.version, "now_picks", to, "device_id", s.deviceID, "grace", grace)
				}
			} else {
				s.displacedAt = time.Time{}
			}
		}
		if !s.displacedAt.IsZero() && now.Sub(s.displacedAt) >= grace {
			l.m.obs.Rejected(l.service, RejectGrace)
			l.m.log.Info("qn connection closed after grace", "service", l.service, "version", s.version, "device_id", s.deviceID)
			s.close()
		}
	}
}

// dial connects to one of upstream's targets, round robin, trying each
// once, ejected targets last. Every failure is recorded as a failed attempt
// of the version and counts towards the target's ejection.
func (l *listener) dial(tab *route.Table, svc, version, upstream string, timeout time.Duration) (net.Conn, error) {
	u := tab.Config.Upstreams[upstream]
	if u == nil || len(u.Targets) == 0 {
		return nil, fmt.Errorf("upstream %q has no targets", upstream)
	}
	start := l.rr.Add(1)
	d := net.Dialer{Timeout: timeout}
	var errs []error
	for _, t := range l.m.targets.order(upstream, u, int(start%uint64(len(u.Targets)))) {
		addr := t[strings.Index(t, "://")+3:]
		began := l.m.now()
		c, err := d.Dial("tcp", addr)
		l.m.targets.result(upstream, u, t, err != nil)
		if err == nil {
			return c, nil
		}
		l.m.counters.of(svc, version).connectFailures.Add(1)
		if l.m.o.Stats != nil {
			l.m.o.Stats.Record(stats.Key{Service: svc, Version: version, Upstream: upstream}, true, l.m.now().Sub(began))
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

// randBucket is the bucket of a device without device_id.
func randBucket() uint64 { return rand.Uint64() % route.Buckets }
