package stats

import (
	"cmp"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Key identifies a series. Stats are keyed by (service, version, upstream),
// never by address.
type Key struct{ Service, Version, Upstream string }

func (k Key) compare(o Key) int {
	return cmp.Or(cmp.Compare(k.Service, o.Service), cmp.Compare(k.Version, o.Version), cmp.Compare(k.Upstream, o.Upstream))
}

// Summary is a series (or a version's series merged) aggregated over a window:
// its Totals and the latency histogram they come from.
type Summary struct {
	Totals
	// Latency is the merged latency histogram the quantiles come from
	// (bucket counts, not encoded in JSON): what the statistical judge
	// ranks. A source that keeps no histogram (Prometheus) leaves it zero.
	// Kept out of Totals: a Summary is a value read without allocating,
	// and what is kept per service for show (a rollout's last analysis)
	// holds Totals, 384 bytes fewer.
	Latency Buckets `json:"-"`
}

// Totals are a Summary's numbers without the histogram.
type Totals struct {
	Requests  int64   `json:"requests"`
	Errors    int64   `json:"errors"`
	ErrorRate float64 `json:"error_rate"` // Errors/Requests, 0 when Requests == 0
	// P50, P95 and P99 come from the merged latency histogram; 0 when there
	// are no requests.
	P50  time.Duration `json:"p50_ns"`
	P95  time.Duration `json:"p95_ns"`
	P99  time.Duration `json:"p99_ns"`
	Rate float64       `json:"rate"` // requests per second over Span (at least 1 s)
	// Span is the time actually covered: from the first bucket read (or the
	// series' earliest record, if later) to now.
	Span time.Duration `json:"span_ns"`
}

// Point is one dashboard interval of History: [At, At+step).
type Point struct {
	At        time.Time     `json:"at"`
	Requests  int64         `json:"requests"`
	Errors    int64         `json:"errors"`
	Rate      float64       `json:"rate"` // requests per second of the interval (so far, for the last one)
	ErrorRate float64       `json:"error_rate"`
	P95       time.Duration `json:"p95_ns"`
}

// MaxHistory is the longest span History covers: the reach of the
// ten-second history.
const MaxHistory = coarseSlots * coarseRes * time.Second

// Registry holds one Series per Key, created on first Record. It is safe for
// concurrent use; see the package documentation for the concurrency rules.
//
// The series are indexed by service, then by (version, upstream) in the
// service's serviceSeries. The service index has two parts, like
// sync.Map: read, an immutable map published atomically that Record reads
// without a lock, and dirty, the services created since read was last
// rebuilt, under mu. read is rebuilt (read and dirty merged) after a
// number of slow lookups proportional to its size, so creating n services
// costs O(n) copies in all, not O(n²), and a new service takes the lock
// only until the next rebuild.
type Registry struct {
	now  func() time.Time
	read atomic.Pointer[map[string]*serviceSeries]

	mu     sync.Mutex // guards dirty and misses; serialises the writers of serviceSeries
	dirty  map[string]*serviceSeries
	misses int
}

// serviceSeries is the series of one service, one per (version, upstream):
// a short copy-on-write list, searched linearly, which costs a few dozen
// bytes per series where a map keyed by Key costs a few hundred. Writers
// hold Registry.mu.
type serviceSeries struct {
	list atomic.Pointer[[]*Series]
}

// series returns the list; callers must not modify it.
func (ss *serviceSeries) series() []*Series {
	if p := ss.list.Load(); p != nil {
		return *p
	}
	return nil
}

// find returns the series of (version, upstream), or nil.
func (ss *serviceSeries) find(version, upstream string) *Series {
	for _, s := range ss.series() {
		if s.key.Version == version && s.key.Upstream == upstream {
			return s
		}
	}
	return nil
}

// NewRegistry returns an empty registry reading time from now. A nil now
// means time.Now.
func NewRegistry(now func() time.Time) *Registry {
	if now == nil {
		now = time.Now
	}
	r := &Registry{now: now, dirty: map[string]*serviceSeries{}}
	r.read.Store(&map[string]*serviceSeries{})
	return r
}

// Record adds one request outcome: failed is true for 5xx answers and
// transport failures (timeouts included). Once the key's service is in the
// read map and the key has a series it takes no lock and allocates nothing.
func (r *Registry) Record(k Key, failed bool, latency time.Duration) {
	ns := r.now().UnixNano()
	var s *Series
	if ss := (*r.read.Load())[k.Service]; ss != nil {
		s = ss.find(k.Version, k.Upstream)
	}
	if s == nil {
		s = r.slowSeries(k, ns, true)
	}
	s.record(ns, failed, latency)
}

// promoteEvery sets when dirty is merged into read: after (size of both)/8
// slow lookups, so each one pays for at most 8 entry copies.
const promoteEvery = 8

// series returns k's series or nil.
func (r *Registry) series(k Key) *Series {
	if ss := (*r.read.Load())[k.Service]; ss != nil {
		return ss.find(k.Version, k.Upstream)
	}
	return r.slowSeries(k, 0, false)
}

// slowSeries looks k up under the lock, its service in dirty if it is not
// in read, creating the service and the series when create is set, and
// promotes dirty into read when it has been missed enough.
func (r *Registry) slowSeries(k Key, born int64, create bool) *Series {
	r.mu.Lock()
	defer r.mu.Unlock()
	ss := r.slowService(k.Service, create)
	if ss == nil {
		return nil
	}
	s := ss.find(k.Version, k.Upstream)
	if s == nil && create {
		s = newSeries(k, born)
		next := append(slices.Clip(ss.series()), s)
		ss.list.Store(&next)
	}
	return s
}

// slowService returns the series of service, from read or else from dirty,
// where it is created when create is set; r.mu is held.
func (r *Registry) slowService(service string, create bool) *serviceSeries {
	read := *r.read.Load()
	if ss := read[service]; ss != nil {
		return ss
	}
	ss := r.dirty[service]
	if ss == nil {
		if !create {
			return nil
		}
		ss = &serviceSeries{}
		r.dirty[service] = ss
	}
	r.misses++
	if r.misses*promoteEvery >= len(read)+len(r.dirty) {
		next := make(map[string]*serviceSeries, len(read)+len(r.dirty))
		maps.Copy(next, read)
		maps.Copy(next, r.dirty)
		r.read.Store(&next)
		r.dirty = map[string]*serviceSeries{}
		r.misses = 0
	}
	return ss
}

// Forget drops every series of service, e.g. after it is removed from the
// configuration. Records racing with Forget may land in the dropped series.
func (r *Registry) Forget(service string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := (*r.read.Load())[service]; ok {
		next := maps.Clone(*r.read.Load())
		delete(next, service)
		r.read.Store(&next)
	}
	delete(r.dirty, service)
}

// serviceList returns the series of service, shared: callers must not
// modify the slice.
func (r *Registry) serviceList(service string) []*Series {
	if ss := (*r.read.Load())[service]; ss != nil {
		return ss.series()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if ss := r.slowService(service, false); ss != nil {
		return ss.series()
	}
	return nil
}

// Keys returns the keys of all series, sorted by service, version, upstream.
func (r *Registry) Keys() []Key {
	var keys []Key
	r.mu.Lock()
	for _, m := range [2]map[string]*serviceSeries{*r.read.Load(), r.dirty} {
		for _, ss := range m {
			for _, s := range ss.series() {
				keys = append(keys, s.key)
			}
		}
	}
	r.mu.Unlock()
	slices.SortFunc(keys, Key.compare)
	return keys
}

// Window aggregates k's series over [now-window, now], but not before since
// (the zero time means no bound): the rollout engine passes the time of its
// last state change so data from before a resume is not judged again. Only
// buckets lying entirely after the bound are read, so the bound rounds up to
// the next second (10 seconds for windows reaching back more than 2 minutes);
// windows are capped at 15 minutes. An unknown key or a window ≤ 0 gives a
// zero Summary.
func (r *Registry) Window(k Key, window time.Duration, since time.Time) Summary {
	s := r.series(k)
	if s == nil {
		return Summary{}
	}
	return r.window([]*Series{s}, k.Version, window, since)
}

// VersionWindow is Window over every upstream of (service, version) merged.
func (r *Registry) VersionWindow(service, version string, window time.Duration, since time.Time) Summary {
	return r.window(r.serviceList(service), version, window, since)
}

// window aggregates the series of ss that count version.
func (r *Registry) window(ss []*Series, version string, window time.Duration, since time.Time) Summary {
	w, ok := versionWindow(ss, version, r.now().UnixNano(), window, since)
	if !ok {
		return Summary{}
	}
	return w.Summary()
}

// versionWindow aggregates the series of ss that count version over the
// window ending at now (Unix nanoseconds). It reports false when none
// does or the window is empty: the zero Summary.
func versionWindow(ss []*Series, version string, now int64, window time.Duration, since time.Time) (Window, bool) {
	if !slices.ContainsFunc(ss, func(s *Series) bool { return s.key.Version == version }) || window <= 0 {
		return Window{}, false
	}
	lo := now - int64(window)
	if !since.IsZero() {
		lo = max(lo, since.UnixNano())
	}
	if lo > now {
		return Window{}, false
	}
	p := planWindow(lo, now)
	if p.from > p.to {
		return Window{}, false
	}
	w := Window{agg: newAgg()}
	born := int64(1<<63 - 1)
	for _, s := range ss {
		if s.key.Version == version {
			s.mergeInto(&w.agg, p, p.from, p.to)
			born = min(born, s.born.Load())
		}
	}
	w.span = max(time.Duration(now-max(p.from*1e9, born)), 0)
	return w, true
}

// History returns per-interval points for the dashboard: the last span (at
// most MaxHistory) in steps of step, oldest first, for (service, version)
// merged across upstreams. Point boundaries are multiples of step since the
// Unix epoch, and the last point holds now. Spans up to 2 minutes are read
// from the one-second ring with step rounded up to whole seconds (at least
// 1 s); longer ones from the ten-second history with step rounded up to a
// multiple of 10 s. Parts of points older than their reaches are empty.
func (r *Registry) History(service, version string, span, step time.Duration) []Point {
	if span <= 0 {
		return nil
	}
	span = min(span, MaxHistory)
	ss := r.serviceList(service)
	now := r.now()
	nowNs := now.UnixNano()
	nowSec := floorDiv(nowNs, 1e9)

	res := int64(fineRes)
	stepSec, n, last := historyGrid(nowSec, span, step, res)
	if first := last - (n-1)*stepSec; first < nowSec-(fineSlots-1)*fineRes {
		res = coarseRes
		stepSec, n, last = historyGrid(nowSec, span, step, res)
	}
	p := plan{coarse: res == coarseRes}
	pts := make([]Point, n)
	for i := range pts {
		at := last - (n-1-int64(i))*stepSec
		a := newAgg()
		for _, s := range ss {
			if s.key.Version == version {
				s.mergeInto(&a, p, at, at+stepSec-res)
			}
		}
		covered := min(time.Duration(stepSec)*time.Second, time.Duration(nowNs-at*1e9))
		pt := Point{At: time.Unix(at, 0).In(now.Location()), Requests: a.requests, Errors: a.errors}
		if a.requests > 0 {
			pt.ErrorRate = float64(a.errors) / float64(a.requests)
			pt.Rate = float64(a.requests) / max(covered, time.Second).Seconds()
			pt.P95 = a.quantile(0.95)
		}
		pts[i] = pt
	}
	return pts
}

// historyGrid rounds step up to a multiple of res seconds and returns it in
// seconds, the number of points covering span, and the start of the last
// point (Unix seconds).
func historyGrid(nowSec int64, span, step time.Duration, res int64) (stepSec, n, last int64) {
	stepSec = max(ceilDiv(int64(step), int64(time.Second)), 1)
	stepSec = ceilDiv(stepSec, res) * res
	n = max(ceilDiv(int64(span), stepSec*int64(time.Second)), 1)
	return stepSec, n, floorDiv(nowSec, stepSec) * stepSec
}
