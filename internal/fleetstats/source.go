package fleetstats

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/turnout-gw/turnout/internal/rollout"
	"github.com/turnout-gw/turnout/internal/stats"
)

// Defaults of a Source.
const (
	// DefaultTimeout bounds a whole pull: every member must have answered
	// within it.
	DefaultTimeout = time.Second
	// DefaultMaxAge is how long a pull answers FetchWindow: less than the
	// default analysis interval (500ms), so that every tick reads anew.
	DefaultMaxAge = 250 * time.Millisecond
)

// Member is a live member of the fleet: its name and the base URL of its
// admin port (cluster.advertise), e.g. http://10.0.0.5:9901.
type Member struct {
	Name      string
	Advertise string
}

// Source merges the windows of every live member with this member's own;
// see the package documentation. Construct it with New.
type Source struct {
	self    string
	members func() []Member
	local   *stats.Registry
	set     settings

	mu      sync.Mutex
	cache   map[queryKey]cached // guarded by mu
	flight  map[queryKey]*pull  // FetchWindow pulls under way; guarded by mu
	failing map[string]bool     // members whose last pull failed; guarded by mu

	pulls, failed atomic.Uint64
}

var (
	_ rollout.RemoteStats = (*Source)(nil)
	_ rollout.Prefetcher  = (*Source)(nil)
)

// queryKey identifies a window: a service's, over window, since a time.
type queryKey struct {
	service string
	window  time.Duration
	since   int64
}

func keyOf(q stats.Query) queryKey {
	k := queryKey{service: q.Service, window: q.Window}
	if !q.Since.IsZero() {
		k.since = q.Since.UnixNano()
	}
	return k
}

// cached is a pull that answers a query's versions (all when nil).
type cached struct {
	p        *pull
	versions []string
}

func (c cached) answers(version string) bool {
	return c.versions == nil || slices.Contains(c.versions, version)
}

// pull is one pull of a set of queries from the fleet. Its fields are
// written before done is closed and only read after.
type pull struct {
	done   chan struct{}
	at     time.Time
	merged *stats.Export // this member's windows and every answer, merged
	err    error         // a *PullError, or nil when every member answered
}

// New returns a Source over this member's registry, named self, asking the
// members returns (self, if listed, is skipped). members is called at each
// pull and must be safe for concurrent use.
func New(self string, local *stats.Registry, members func() []Member, opts ...Option) (*Source, error) {
	if local == nil || members == nil {
		return nil, errors.New("fleetstats: a registry and a member list are required")
	}
	set, err := newSettings(opts)
	if err != nil {
		return nil, err
	}
	return &Source{self: self, members: members, local: local, set: set,
		cache: map[queryKey]cached{}, flight: map[queryKey]*pull{}, failing: map[string]bool{}}, nil
}

// others returns the members to ask: every live member but self.
func (s *Source) others() []Member {
	all := s.members()
	out := make([]Member, 0, len(all))
	for _, m := range all {
		if m.Name != s.self {
			out = append(out, m)
		}
	}
	return out
}

// Remote reports whether analysis must wait for other members: whether
// there are any. The engine analyses those rollouts after the others, so a
// slow member never delays a rollout read from elsewhere.
func (s *Source) Remote(string) bool { return len(s.others()) > 0 }

// Prefetch pulls the windows of qs from every member at once and keeps the
// merge for FetchWindow, for MaxAge. It returns when every member answered
// or the timeout passed.
func (s *Source) Prefetch(qs []stats.Query) {
	if len(qs) == 0 {
		return
	}
	p := &pull{done: make(chan struct{})}
	s.run(p, qs)
	close(p.done)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(p.at)
	for _, q := range qs {
		s.cache[keyOf(q)] = cached{p: p, versions: slices.Clone(q.Versions)}
	}
}

// expire drops the cached pulls older than MaxAge at now; s.mu is held.
func (s *Source) expire(now time.Time) {
	for k, c := range s.cache {
		if now.Sub(c.p.at) >= s.set.maxAge {
			delete(s.cache, k)
		}
	}
}

// FetchWindow returns version's window merged over the fleet: from the
// pull Prefetch made for it, else from a pull of the service alone,
// shared by concurrent calls for the same window. A member that did not
// answer makes it fail with a *PullError naming it.
func (s *Source) FetchWindow(service, version string, window time.Duration, since time.Time) (stats.Summary, error) {
	q := stats.Query{Service: service, Window: window, Since: since}
	k := keyOf(q)
	s.mu.Lock()
	if c, ok := s.cache[k]; ok && c.answers(version) && s.set.now().Sub(c.p.at) < s.set.maxAge {
		s.mu.Unlock()
		return c.p.answer(service, version)
	}
	p := s.flight[k]
	if p == nil {
		p = &pull{done: make(chan struct{})}
		s.flight[k] = p
		s.mu.Unlock()
		s.run(p, []stats.Query{q})
		s.mu.Lock()
		delete(s.flight, k)
		s.expire(p.at)
		s.cache[k] = cached{p: p}
		close(p.done)
	}
	s.mu.Unlock()
	<-p.done
	return p.answer(service, version)
}

func (p *pull) answer(service, version string) (stats.Summary, error) {
	if p.err != nil {
		return stats.Summary{}, p.err
	}
	return p.merged.Summary(service, version), nil
}

// VersionWindow is FetchWindow with a failed pull read as no data.
func (s *Source) VersionWindow(service, version string, window time.Duration, since time.Time) stats.Summary {
	sum, _ := s.FetchWindow(service, version, window, since)
	return sum
}

// Pulls returns how many member pulls were made, and how many of them
// failed, since the Source was made (turnout_cluster_* metrics).
func (s *Source) Pulls() (made, failed uint64) { return s.pulls.Load(), s.failed.Load() }

// logMember logs a member's first failed pull and its recovery.
func (s *Source) logMember(name string, err error) {
	s.mu.Lock()
	was := s.failing[name]
	if err != nil {
		s.failing[name] = true
	} else {
		delete(s.failing, name)
	}
	s.mu.Unlock()
	switch {
	case err != nil && !was:
		s.set.log.Warn("fleet stats: member did not answer", "member", name, "error", err)
	case err != nil:
		s.set.log.Debug("fleet stats: member did not answer", "member", name, "error", err)
	case was:
		s.set.log.Info("fleet stats: member answers again", "member", name)
	}
}

// settings are what the Options set.
type settings struct {
	timeout, maxAge time.Duration
	maxQuery        int // bytes of one request's query string (maxQueryBytes; tests lower it)
	token           func() string
	client          *http.Client
	now             func() time.Time
	log             *slog.Logger
}

// Option configures New.
type Option func(*settings) error

func newSettings(opts []Option) (settings, error) {
	set := settings{timeout: DefaultTimeout, maxAge: DefaultMaxAge, maxQuery: maxQueryBytes, token: func() string { return "" },
		now: time.Now, log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2, IdleConnTimeout: time.Minute}}}
	for _, o := range opts {
		if err := o(&set); err != nil {
			return settings{}, err
		}
	}
	return set, nil
}

// WithTimeout bounds a whole pull (default DefaultTimeout).
func WithTimeout(d time.Duration) Option {
	return func(s *settings) error {
		if d <= 0 {
			return errors.New("fleetstats: the timeout must be positive")
		}
		s.timeout = d
		return nil
	}
}

// WithMaxAge sets how long a pull answers FetchWindow (default
// DefaultMaxAge); keep it below the analysis interval.
func WithMaxAge(d time.Duration) Option {
	return func(s *settings) error {
		if d <= 0 {
			return errors.New("fleetstats: the max age must be positive")
		}
		s.maxAge = d
		return nil
	}
}

// WithToken sets the bearer token sent to the members' admin ports (the
// fleet's admin token), read at each pull.
func WithToken(token func() string) Option {
	return func(s *settings) error {
		if token == nil {
			return errors.New("fleetstats: nil token function")
		}
		s.token = token
		return nil
	}
}

// WithHTTPClient sets the client of the pulls (TLS to the members' admin
// ports); pulls are bounded by the timeout whatever its own.
func WithHTTPClient(c *http.Client) Option {
	return func(s *settings) error {
		if c == nil {
			return errors.New("fleetstats: nil HTTP client")
		}
		s.client = c
		return nil
	}
}

// WithClock injects the clock of MaxAge (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(s *settings) error {
		if now == nil {
			return errors.New("fleetstats: nil clock")
		}
		s.now = now
		return nil
	}
}

// WithLogger sets the logger of members' failures and recoveries.
func WithLogger(l *slog.Logger) Option {
	return func(s *settings) error {
		if l == nil {
			return errors.New("fleetstats: nil logger")
		}
		s.log = l
		return nil
	}
}
