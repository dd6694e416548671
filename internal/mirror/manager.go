package mirror

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/mirror/compare"
	"github.com/turnout-gw/turnout/internal/pipeline"
	"github.com/turnout-gw/turnout/internal/store"
	"github.com/turnout-gw/turnout/internal/upstream"
)

// Defaults of Options.
const (
	DefaultQueue      = 1024
	DefaultSamples    = 50
	DefaultSampleBody = 2 << 10
)

// Options configure a Manager.
type Options struct {
	// Pool returns the live pool of an upstream, nil when there is none;
	// workers send copies to it.
	Pool func(upstream string) *upstream.Pool
	// Store keeps the sample rings across restarts (nil = memory only).
	Store store.Store
	// Observe counts one comparison with result match, diff or error
	// (telemetry.Metrics.ObserveMirror); nil = not counted.
	Observe func(service, result string)
	Log     *slog.Logger
	Now     func() time.Time
	// Workers send the copies (default 4 per GOMAXPROCS, at least 16); one
	// service's copies occupy at most three quarters of them (the others
	// wait in that service's lane), so a mirror target that hangs cannot
	// stall the other services' copies. Queue is how many copies may wait
	// in the queue, and in each lane (default DefaultQueue).
	Workers, Queue int
	// Samples is the size of each service's ring of differing samples
	// (default DefaultSamples); SampleBody caps each response kept in a
	// sample (default DefaultSampleBody).
	Samples, SampleBody int
}

// Manager mirrors requests of the services that have a mirror block. It
// is the pipeline.Tap of shadow traffic and is safe for concurrent use.
type Manager struct {
	o        Options
	log      *slog.Logger
	services atomic.Pointer[map[string]*service]
	// p queues the copies for its workers, which send and compare them;
	// its Close aborts copies in flight.
	p *pipeline.Pipeline[*tap]

	mu sync.Mutex // serialises Update and Close
}

var _ pipeline.Tap = (*Manager)(nil)

// service is one service's mirror block and its results; which requests
// are mirrored is decided by the routing table (route.Decision.Mirror).
type service struct {
	name     string
	spec     config.Mirror // Meta cleared, for comparing reloads
	to       string
	servedBy string // the version serving to when it is adapted, else ""
	maxBody  int64
	timeout  time.Duration
	comparer *compare.Comparer // nil: copies are sent, not compared
	noise    *compare.Noise    // nil unless compare.noise
	res      *results
}

// New starts a Manager's workers. It mirrors nothing until Update.
func New(o Options) (*Manager, error) {
	if o.Pool == nil {
		return nil, errors.New("mirror: nil pool lookup")
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Workers <= 0 {
		o.Workers = max(16, 4*runtime.GOMAXPROCS(0))
	}
	if o.Queue <= 0 {
		o.Queue = DefaultQueue
	}
	if o.Samples <= 0 {
		o.Samples = DefaultSamples
	}
	if o.SampleBody <= 0 {
		o.SampleBody = DefaultSampleBody
	}
	m := &Manager{o: o, log: o.Log}
	empty := map[string]*service{}
	m.services.Store(&empty)
	p, err := pipeline.New(pipeline.Options{Name: "mirror", Workers: o.Workers, Queue: o.Queue,
		PerLane: max(1, o.Workers*3/4), Flush: m.flushAll}, m.process)
	if err != nil {
		return nil, fmt.Errorf("mirror: %w", err)
	}
	m.p = p
	return m, nil
}

// Update adopts cfg's mirror blocks. A service whose mirror target (and
// the version serving it, when it is adapted) and comparison are unchanged
// keeps its results; any other starts afresh
// (its persisted samples are read back). It is cheap when no service
// mirrors.
func (m *Manager) Update(cfg *config.Config) {
	m.mu.Lock()
	defer m.mu.Unlock()
	old := *m.services.Load()
	next := make(map[string]*service, len(old))
	for name, sc := range cfg.Services {
		if sc.Mirror == nil {
			continue
		}
		s, err := m.compile(name, sc, old[name])
		if err != nil {
			m.log.Error("mirror: copies of this service are sent but not compared", "service", name, "error", err)
		}
		next[name] = s
	}
	if len(old) == 0 && len(next) == 0 {
		return
	}
	m.services.Store(&next)
	for name, s := range old {
		if n := next[name]; n == nil || n.res != s.res {
			m.flush(s) // retired results: keep their last samples
		}
	}
}

// compile builds a service's mirror state, reusing prev's results when the
// mirror block is the same.
func (m *Manager) compile(name string, sc *config.Service, prev *service) (*service, error) {
	spec := specOf(sc.Mirror)
	s := &service{
		name: name, spec: spec, to: spec.To, maxBody: int64(spec.MaxBody), timeout: spec.Timeout.D(),
	}
	if v := sc.Versions[spec.To]; v != nil {
		s.servedBy = v.ServedBy
	}
	win := time.Minute
	if ro := sc.Rollout; ro != nil && ro.Analysis.Window.D() > win {
		win = ro.Analysis.Window.D()
	}
	if prev != nil && reflect.DeepEqual(prev.spec.Compare, spec.Compare) && prev.to == spec.To && prev.servedBy == s.servedBy {
		s.comparer, s.noise, s.res = prev.comparer, prev.noise, prev.res
		s.res.Resize(win)
		return s, nil
	}
	s.res = newResults(win, m.o.Samples)
	if prev != nil {
		s.res.adoptSamples(prev.res)
	} else {
		m.loadSamples(s)
	}
	if spec.Compare == nil {
		return s, nil
	}
	c, err := compare.New(spec.Compare)
	if err != nil {
		return s, fmt.Errorf("compiling mirror.compare of %s: %w", name, err)
	}
	s.comparer = c
	if spec.Compare.Noise {
		s.noise = compare.NewNoise()
	}
	return s, nil
}

// specOf copies a mirror block without positions, so two loads of the same
// text compare equal.
func specOf(m *config.Mirror) config.Mirror {
	c := *m
	c.Meta = config.Meta{}
	if m.Compare != nil {
		cc := *m.Compare
		cc.Meta = config.Meta{}
		c.Compare = &cc
	}
	return c
}

// lookup returns a service's mirror state or nil.
func (m *Manager) lookup(name string) *service { return (*m.services.Load())[name] }

// Close stops mirroring: new requests are no longer mirrored, copies in
// flight are abandoned, the workers stop (bounded by ctx) and the sample
// rings are written to the store.
func (m *Manager) Close(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.p.Close(ctx)
}
