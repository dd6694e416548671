package route

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/turnout-gw/turnout/internal/chunks"
	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/negotiate"
)

// Table is the compiled, immutable routing table. Share it freely.
type Table struct {
	// Config is the configuration the table was compiled from.
	Config *config.Config

	services []*Service
	byName   map[string]*Service
	hosts    map[string]*pathIndex // exact host -> services
	wild     []wildHost            // "*.example.com" hosts, longest suffix first
	anyHost  *pathIndex            // services without hosts
	rnd      func() uint64
	// bodySource is set when some service reads a version from the body.
	bodySource bool
}

type wildHost struct {
	suffix string // ".example.com"
	idx    *pathIndex
}

// pathIndex maps a normalised path prefix to its service.
type pathIndex struct{ byPrefix map[string]*Service }

// Option configures Compile.
type Option func(*options) error

type options struct {
	rnd     func() uint64
	weights map[string]float64
	prev    *Table
}

// WithRand injects the random source used for per-request splits (when no
// sticky key is present). The default is math/rand/v2's goroutine-safe
// generator. rnd must be safe for concurrent use.
func WithRand(rnd func() uint64) Option {
	return func(o *options) error {
		if rnd == nil {
			return errors.New("route: nil random source")
		}
		o.rnd = rnd
		return nil
	}
}

// WithWeights overrides the configured rollout weights by service name (the
// live weights kept by the rollout engine). Unknown names are ignored.
func WithWeights(w map[string]float64) Option {
	return func(o *options) error {
		for name, v := range w {
			if v < 0 || v > 100 {
				return fmt.Errorf("route: weight %v for %q outside 0..100", v, name)
			}
		}
		o.weights = w
		return nil
	}
}

// WithPrevious lets Compile reuse what it compiled for prev, the table the
// new one replaces: a service configured exactly as in prev's configuration
// (config.Service.SameSpec: positions and the rollout weight aside) is not
// compiled again. The new table's service is still a new value pointing at
// the new configuration, with the weight applied; its versions, negotiation,
// rule conditions and splits are shared with prev's, which are immutable.
func WithPrevious(prev *Table) Option {
	return func(o *options) error { o.prev = prev; return nil }
}

// Compile builds a Table from a validated configuration. Errors (for
// example an expression that does not compile) are *config.Error values
// anchored at their position; Compile reports all of them.
func Compile(c *config.Config, opts ...Option) (*Table, error) {
	o := options{rnd: rand.Uint64}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	names := c.ServiceNames()
	t := &Table{Config: c, byName: make(map[string]*Service, len(names)), services: make([]*Service, len(names)), rnd: o.rnd}
	weight := func(name string, sc *config.Service) float64 {
		if sc.Rollout == nil {
			return 0
		}
		if w, ok := o.weights[name]; ok {
			return w
		}
		return sc.Rollout.Weight
	}
	// The services configured as before (most of them, in a reload) are
	// rebound, by several goroutines in a large table: it only reads the
	// previous table and the configuration. The others are compiled after,
	// one by one: they share what their version names compile to.
	if o.prev != nil {
		chunks.Run(len(names), chunks.Workers(len(names), parallelRebind), func(_, lo, hi int) {
			for i := lo; i < hi; i++ {
				sc := c.Services[names[i]]
				if old := o.prev.Service(names[i]); old != nil && old.Spec.SameSpec(sc) {
					t.services[i] = old.rebind(sc, weight(names[i], sc))
				}
			}
		})
	}
	shared := map[string]*byNames{}
	var errs []error
	for i, name := range names {
		if t.services[i] == nil {
			sc := c.Services[name]
			s, err := compileService(sc, weight(name, sc), shared)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			t.services[i] = s
		}
		t.byName[name] = t.services[i]
	}
	if len(errs) > 0 {
		return nil, config.Flatten(errors.Join(errs...))
	}
	t.index()
	return t, nil
}

// parallelRebind is the number of services from which each goroutine
// rebinds at least as many, when a table is compiled with the previous one.
const parallelRebind = 1024

func (t *Table) index() {
	t.hosts = map[string]*pathIndex{}
	t.wild = nil
	t.bodySource = false
	anyHost := 0
	for _, s := range t.services {
		if len(s.Hosts) == 0 {
			anyHost++
		}
		if !s.IsQN() && s.negotiator != nil && s.negotiator.HasSource(negotiate.SourceBody) {
			t.bodySource = true
		}
	}
	t.anyHost = &pathIndex{byPrefix: make(map[string]*Service, anyHost)}
	wild := map[string]*pathIndex{}
	for _, s := range t.services {
		if s.IsQN() {
			continue // served on its own TCP listener (internal/qnproxy)
		}
		if len(s.Hosts) == 0 {
			t.anyHost.byPrefix[s.PathPrefix] = s
			continue
		}
		for _, h := range s.Hosts {
			var idx *pathIndex
			if strings.HasPrefix(h, "*.") {
				suffix := h[1:]
				if idx = wild[suffix]; idx == nil {
					idx = &pathIndex{byPrefix: map[string]*Service{}}
					wild[suffix] = idx
					t.wild = append(t.wild, wildHost{suffix: suffix, idx: idx})
				}
			} else if idx = t.hosts[h]; idx == nil {
				idx = &pathIndex{byPrefix: map[string]*Service{}}
				t.hosts[h] = idx
			}
			idx.byPrefix[s.PathPrefix] = s
		}
	}
	// Longest wildcard suffix first.
	for i := 1; i < len(t.wild); i++ {
		for j := i; j > 0 && len(t.wild[j].suffix) > len(t.wild[j-1].suffix); j-- {
			t.wild[j], t.wild[j-1] = t.wild[j-1], t.wild[j]
		}
	}
}

// Services returns the compiled services sorted by name. Do not modify.
func (t *Table) Services() []*Service { return t.services }

// Service returns the named service or nil (nil for a nil table).
func (t *Table) Service(name string) *Service {
	if t == nil {
		return nil
	}
	return t.byName[name]
}

// WithWeight returns a copy of the table whose service name splits its
// rollout at weight percent. The receiver is not modified; services other
// than name are shared.
func (t *Table) WithWeight(name string, weight float64) (*Table, error) {
	s := t.byName[name]
	if s == nil {
		return nil, fmt.Errorf("route: no service %q", name)
	}
	if s.Rollout == nil {
		return nil, fmt.Errorf("route: service %q has no rollout", name)
	}
	if weight < 0 || weight > 100 {
		return nil, fmt.Errorf("route: weight %v outside 0..100", weight)
	}
	ns := *s
	ro := *s.Rollout
	ro.setWeight(weight)
	ns.Rollout = &ro
	nt := &Table{Config: t.Config, byName: make(map[string]*Service, len(t.byName)), rnd: t.rnd}
	nt.services = make([]*Service, len(t.services))
	for i, x := range t.services {
		if x == s {
			x = &ns
		}
		nt.services[i] = x
		nt.byName[x.Name] = x
	}
	nt.index()
	return nt, nil
}

// Weights returns the current rollout weight of every service that has a
// rollout.
func (t *Table) Weights() map[string]float64 {
	out := map[string]float64{}
	for _, s := range t.services {
		if s.Rollout != nil {
			out[s.Name] = s.Rollout.Weight
		}
	}
	return out
}

// lookup finds the service for a host and path: host first (exact, then
// wildcard, then services without hosts), then the longest path prefix on
// segment boundaries. When a version segment was set aside (vlen > 0, rest
// the remaining path), services with the path source match on rest and count
// the segment toward their match length.
func (t *Table) lookup(host, path, rest string, vlen int) *Service {
	if idx := t.hosts[host]; idx != nil {
		if s := idx.find(path, rest, vlen); s != nil {
			return s
		}
	}
	for i := range t.wild {
		if strings.HasSuffix(host, t.wild[i].suffix) {
			if s := t.wild[i].idx.find(path, rest, vlen); s != nil {
				return s
			}
		}
	}
	return t.anyHost.find(path, rest, vlen)
}

func (idx *pathIndex) find(path, rest string, vlen int) *Service {
	if len(idx.byPrefix) == 0 {
		return nil
	}
	full, fullLen := idx.longest(path, false)
	if vlen > 0 {
		if s, n := idx.longest(rest, true); s != nil && (full == nil || n+vlen > fullLen) {
			return s
		}
	}
	return full
}

// longest walks path's prefixes on segment boundaries from the longest down.
func (idx *pathIndex) longest(path string, needPathSource bool) (*Service, int) {
	p := path
	for {
		if s := idx.byPrefix[p]; s != nil && (!needPathSource || s.pathSource) {
			return s, len(p)
		}
		if p == "/" || p == "" {
			return nil, 0
		}
		i := strings.LastIndexByte(p, '/')
		if i <= 0 {
			p = "/"
		} else {
			p = p[:i]
		}
	}
}
