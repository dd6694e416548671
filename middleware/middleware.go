package middleware

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/core"
	"github.com/turnout-gw/turnout/internal/observe"
	"github.com/turnout-gw/turnout/internal/route"
)

// Versions maps version names (as the configuration's `versions:` keys) to
// the handler that serves them.
type Versions map[string]http.Handler

// Config says where the configuration comes from: File (live: reloaded on
// change, SIGHUP and POST /api/v1/reload, as `turnout serve` does) or YAML
// (fixed text).
type Config struct {
	path string
	name string
	text []byte
}

// File is the configuration file at path, in the format `turnout serve`
// reads. A relative `state:` is relative to the file's directory.
func File(path string) Config { return Config{path: path} }

// YAML is configuration text; name labels its FILE:LINE:COL errors. It
// cannot be reloaded.
func YAML(name string, text []byte) Config { return Config{name: name, text: text} }

func (c Config) load() (*config.Config, error) {
	if c.path != "" {
		return config.Load(c.path)
	}
	if c.text == nil {
		return nil, errors.New("middleware: no configuration: use File or YAML")
	}
	return config.Parse(c.name, c.text)
}

// Middleware routes requests (and, through its interceptors, gRPC calls)
// to the handler of the version the routing table chooses. It is safe for
// concurrent use; Close stops it.
type Middleware struct {
	core     *core.Core
	obs      observe.Observer
	now      func() time.Time
	log      *slog.Logger
	versions Versions
	services map[string]Versions
	next     http.Handler
	extra    []string // keys of WithPropagate
	keys     atomic.Pointer[colourKeys]
	grpc     grpcRegistry
	rnd      func() uint64 // fault draws

	watch bool
	tick  time.Duration
}

// Option configures New.
type Option func(*Middleware) error

// WithService serves the versions of one service with their own handlers
// (the versions given to New serve every other service).
func WithService(name string, v Versions) Option {
	return func(m *Middleware) error {
		if name == "" || len(v) == 0 {
			return errors.New("middleware: WithService needs a service name and its versions")
		}
		m.services[name] = v
		return nil
	}
}

// WithFallthrough sends requests that no service matches to h instead of
// answering 404.
func WithFallthrough(h http.Handler) Option {
	return func(m *Middleware) error {
		if h == nil {
			return errors.New("middleware: nil fallthrough handler")
		}
		m.next = h
		return nil
	}
}

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(m *Middleware) error {
		if l == nil {
			return errors.New("middleware: nil logger")
		}
		m.log = l
		return nil
	}
}

// WithClock injects the clock of latencies, stats windows and the rollout
// engine (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(m *Middleware) error {
		if now == nil {
			return errors.New("middleware: nil clock")
		}
		m.now = now
		return nil
	}
}

// WithoutWatch turns off reloading on file change and SIGHUP (Reload and
// POST /api/v1/reload still reload a File configuration).
func WithoutWatch() Option {
	return func(m *Middleware) error { m.watch = false; return nil }
}

// WithTick sets how often the rollout engine looks at its rollouts
// (default 250ms; each is analysed every analysis.interval).
func WithTick(d time.Duration) Option {
	return func(m *Middleware) error {
		if d <= 0 {
			return fmt.Errorf("middleware: tick %v is not positive", d)
		}
		m.tick = d
		return nil
	}
}

// WithPropagate adds metadata keys (header names) the client interceptors
// copy from the incoming request to outgoing calls, besides the colour keys
// the configuration's rules and sticky keys name.
func WithPropagate(keys ...string) Option {
	return func(m *Middleware) error {
		for _, k := range keys {
			if k == "" {
				return errors.New("middleware: empty propagation key")
			}
			m.extra = append(m.extra, strings.ToLower(k))
		}
		return nil
	}
}

// New loads the configuration, opens its state store and starts the
// rollout engine, and returns the middleware serving versions (nil when it
// serves only gRPC). Every handler must name a version the configuration
// declares, every WithService a declared service; a request routed to a
// version without a handler is answered 501 (and counts as that version's
// failure). The versions' `upstream` keys are not used in process. Close
// releases it.
func New(c Config, versions Versions, opts ...Option) (*Middleware, error) {
	m := &Middleware{versions: versions, services: map[string]Versions{}, now: time.Now, log: slog.Default(), watch: true, rnd: defaultRand}
	for _, o := range opts {
		if err := o(m); err != nil {
			return nil, err
		}
	}
	cfg, err := c.load()
	if err != nil {
		return nil, err
	}
	if err := m.check(cfg); err != nil {
		return nil, err
	}
	m.core, err = core.Start(cfg, c.path, core.Options{NoPools: true, Check: m.refusals,
		Log: m.log, Watch: m.watch && c.path != "", Tick: m.tick, Now: m.now})
	if err != nil {
		return nil, err
	}
	m.obs = m.core.Observer()
	return m, nil
}

// check reports handlers for versions and services cfg does not declare.
// What cfg asks that the middleware cannot apply is refusals'.
func (m *Middleware) check(cfg *config.Config) error {
	declared := map[string]bool{}
	for _, s := range cfg.Services {
		for vn := range s.Versions {
			declared[vn] = true
		}
	}
	var errs []error
	for _, vn := range slices.Sorted(maps.Keys(m.versions)) {
		if !declared[vn] {
			errs = append(errs, fmt.Errorf("middleware: handler for version %q, which no service declares", vn))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(m.services)) {
		s, ok := cfg.Services[name]
		if !ok {
			errs = append(errs, fmt.Errorf("middleware: handlers for service %q, which the configuration does not declare", name))
			continue
		}
		for _, vn := range slices.Sorted(maps.Keys(m.services[name])) {
			if _, ok := s.Versions[vn]; !ok {
				errs = append(errs, fmt.Errorf("middleware: handler for version %q, which service %q does not declare", vn, name))
			}
		}
	}
	return errors.Join(errs...)
}

// refusals checks cfg against the applier table (config.Config.Refusals
// for the middleware), at start and at every reload: a key the middleware
// cannot honour is an error naming it (a reload keeps the last good
// configuration), except the keys it keeps for the proxy (fallback,
// mirror: one file may drive both), which are logged by key and position
// and not applied. `turnout validate --for middleware` refuses those too.
func (m *Middleware) refusals(cfg *config.Config) error {
	var errs []error
	for _, r := range cfg.Refusals(config.ApplierMiddleware) {
		if r.Kept {
			m.log.Warn("not applied in process: applies to the proxy only", "key", r.Key, "at", r.KeyPos.String(), "why", r.Why)
			continue
		}
		errs = append(errs, fmt.Errorf("middleware: %w", r.Error(false)))
	}
	return errors.Join(errs...)
}

// handler returns the handler of version of service, nil when none.
func (m *Middleware) handler(service, version string) http.Handler {
	if vs, ok := m.services[service]; ok {
		return vs[version]
	}
	return m.versions[version]
}

// AdminHandler is the admin API of `turnout serve` for this middleware:
// /healthz, /readyz, /metrics, /api/v1/services, /api/v1/rollouts (and
// their actions), /api/v1/reload, /api/v1/events, /api/v1/contracts and
// the dashboard at /. Mount it on your own mux, e.g. under a prefix with
// http.StripPrefix. Mutations need the bearer token named by
// admin.token_env when that variable is set (without one, a JSON
// Content-Type). Requests must name the server by IP address, localhost
// or a name of admin.hosts (list your server's names there); others get
// 403, against DNS rebinding.
func (m *Middleware) AdminHandler() http.Handler { return m.core.Admin }

// Reload reads the configuration file again and applies it, as a file
// change or POST /api/v1/reload does; a rejected file keeps the last good
// configuration serving and its errors are returned.
func (m *Middleware) Reload() error { return m.core.Configs.Reload("api") }

// Close stops the rollout engine and the watcher and closes the state
// store. Requests must not be served afterwards.
func (m *Middleware) Close() error { return m.core.Stop() }

// table returns the live routing table.
func (m *Middleware) table() *route.Table { return m.core.Configs.Snapshot().Table }

// decide routes r as the gateway does, trust policy first: from an
// untrusted client, colour (and, where pins are refused, the pin) is
// removed from r before the table decides. A configuration without a
// trust block trusts every request.
func (m *Middleware) decide(r *http.Request) route.Decision {
	snap := m.core.Configs.Snapshot()
	return snap.Trust.Decide(snap.Table, r)
}
