package promsource

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/rollout"
	"github.com/turnout-gw/turnout/internal/stats"
)

// Router is the rollout engine's stats: the services whose analysis reads
// Prometheus are answered by the current Source, the others by Turnout's
// own stats (a fleet's, when they are a rollout.RemoteStats: their errors,
// Remote and Prefetch are passed through). It counts and logs failed
// Prometheus fetches: a service's first failure and its recovery at warn
// and info, the failures in between at debug. It is safe for concurrent
// use.
type Router struct {
	local rollout.Stats
	set   settings
	src   atomic.Pointer[Source]

	failures atomic.Uint64
	mu       sync.Mutex
	failing  map[string]bool // service/version -> its last fetch failed (under mu)
}

var (
	_ rollout.RemoteStats = (*Router)(nil)
	_ rollout.Prefetcher  = (*Router)(nil)
)

// NewRouter returns a Router over Turnout's own stats with no service read
// from Prometheus until Update.
func NewRouter(local rollout.Stats, opts ...Option) (*Router, error) {
	if local == nil {
		return nil, errors.New("promsource: local stats are required")
	}
	set, err := newSettings(opts)
	if err != nil {
		return nil, err
	}
	r := &Router{local: local, set: set, failing: map[string]bool{}}
	r.src.Store(&Source{services: map[string]*service{}, now: set.now})
	return r, nil
}

// Update compiles cfg with the Router's options and answers from it from
// now on. On error the previous Source stays.
func (r *Router) Update(cfg *config.Config) error {
	src, err := compile(cfg, r.set)
	if err != nil {
		return err
	}
	r.src.Store(src)
	return nil
}

// Source returns the current Source.
func (r *Router) Source() *Source { return r.src.Load() }

// VersionWindow answers from Turnout's own stats, or from Prometheus with a
// failed fetch read as no data (FetchWindow says why).
func (r *Router) VersionWindow(service, version string, window time.Duration, since time.Time) stats.Summary {
	s, _ := r.FetchWindow(service, version, window, since)
	return s
}

// FetchWindow answers from Prometheus for the services whose analysis reads
// it, else from Turnout's own stats: a fleet's (a RemoteStats, whose
// errors are passed on) or this process's (which never fail).
func (r *Router) FetchWindow(service, version string, window time.Duration, since time.Time) (stats.Summary, error) {
	src := r.src.Load()
	if !src.Has(service) {
		if rs, ok := r.local.(rollout.RemoteStats); ok {
			return rs.FetchWindow(service, version, window, since)
		}
		return r.local.VersionWindow(service, version, window, since), nil
	}
	s, err := src.FetchWindow(service, version, window, since)
	r.note(service, version, err)
	return s, err
}

// Remote reports whether service's analysis reads Prometheus, or a fleet
// whose local stats say it must wait for other members.
func (r *Router) Remote(service string) bool {
	if r.src.Load().Has(service) {
		return true
	}
	rs, ok := r.local.(rollout.RemoteStats)
	return ok && rs.Remote(service)
}

// Prefetch passes the queries of the services not read from Prometheus
// on to the local stats, when they prefetch (a fleet).
func (r *Router) Prefetch(qs []stats.Query) {
	p, ok := r.local.(rollout.Prefetcher)
	if !ok {
		return
	}
	src := r.src.Load()
	var mine []stats.Query
	for _, q := range qs {
		if !src.Has(q.Service) {
			mine = append(mine, q)
		}
	}
	if len(mine) > 0 {
		p.Prefetch(mine)
	}
}

// Failures returns how many fetches have failed since the Router started.
func (r *Router) Failures() uint64 { return r.failures.Load() }

// note counts a failure and logs changes of a version's health.
func (r *Router) note(service, version string, err error) {
	key := service + "/" + version
	if err != nil {
		r.failures.Add(1)
	}
	r.mu.Lock()
	was := r.failing[key]
	if err != nil {
		r.failing[key] = true
	} else {
		delete(r.failing, key)
	}
	r.mu.Unlock()
	switch {
	case err != nil && !was:
		r.set.log.Warn("prometheus analysis query failed", "service", service, "version", version, "error", err)
	case err != nil:
		r.set.log.Debug("prometheus analysis query failed", "service", service, "version", version, "error", err)
	case was:
		r.set.log.Info("prometheus analysis queries answer again", "service", service, "version", version)
	}
}
