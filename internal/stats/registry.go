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

// Summary is a series (or a version's series merged) aggregated over a window.
type Summary struct {
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

type versionKey struct{ service, version string }

// Registry holds one Series per Key, created on first Record. It is safe for
// concurrent use; see the package documentation for the concurrency rules.
//
// The series index has two parts, like sync.Map: read, an immutable map
// published atomically that Record reads without a lock, and dirty, the
// series created since read was last rebuilt, under mu. read is rebuilt
// (read and dirty merged) after a number of slow lookups proportional to
// its size, so creating n series costs O(n) copies in all, not O(n²), and a
// new series takes the lock only until the next rebuild.
type Registry struct {
	now  func() time.Time
	read atomic.Pointer[map[Key]*Series]

	mu        sync.RWMutex // guards dirty, misses, byVersion and keys
	dirty     map[Key]*Series
	misses    int
	byVersion map[versionKey][]*Series
	keys      []Key // in creation order; Keys sorts a copy
}

// NewRegistry returns an empty registry reading time from now. A nil now
// means time.Now.
func NewRegistry(now func() time.Time) *Registry {
	if now == nil {
		now = time.Now
	}
	r := &Registry{now: now, dirty: map[Key]*Series{}, byVersion: map[versionKey][]*Series{}}
	r.read.Store(&map[Key]*Series{})
	return r
}

// Record adds one request outcome: failed is true for 5xx answers and
// transport failures (timeouts included). Once the key's series is in the
// read map it takes no lock and allocates nothing.
func (r *Registry) Record(k Key, failed bool, latency time.Duration) {
	ns := r.now().UnixNano()
	s := (*r.read.Load())[k]
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
	if s := (*r.read.Load())[k]; s != nil {
		return s
	}
	return r.slowSeries(k, 0, false)
}

// slowSeries looks k up in dirty, creating its series there when create is
// set, and promotes dirty into read when it has been missed enough.
func (r *Registry) slowSeries(k Key, born int64, create bool) *Series {
	r.mu.Lock()
	defer r.mu.Unlock()
	read := *r.read.Load()
	if s := read[k]; s != nil {
		return s
	}
	s := r.dirty[k]
	if s == nil {
		if !create {
			return nil
		}
		s = newSeries(k, born)
		r.dirty[k] = s
		vk := versionKey{k.Service, k.Version}
		r.byVersion[vk] = append(slices.Clip(r.byVersion[vk]), s)
		r.keys = append(r.keys, k)
	}
	r.misses++
	if r.misses*promoteEvery >= len(read)+len(r.dirty) {
		next := make(map[Key]*Series, len(read)+len(r.dirty))
		maps.Copy(next, read)
		maps.Copy(next, r.dirty)
		r.read.Store(&next)
		r.dirty = map[Key]*Series{}
		r.misses = 0
	}
	return s
}

// Forget drops every series of service, e.g. after it is removed from the
// configuration. Records racing with Forget may land in the dropped series.
func (r *Registry) Forget(service string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	drop := func(k Key, _ *Series) bool { return k.Service == service }
	next := maps.Clone(*r.read.Load())
	maps.DeleteFunc(next, drop)
	r.read.Store(&next)
	maps.DeleteFunc(r.dirty, drop)
	maps.DeleteFunc(r.byVersion, func(vk versionKey, _ []*Series) bool { return vk.service == service })
	r.keys = slices.DeleteFunc(r.keys, func(k Key) bool { return k.Service == service })
}

// versionSeries returns the series of (service, version), shared: callers
// must not modify the slice.
func (r *Registry) versionSeries(service, version string) []*Series {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.byVersion[versionKey{service, version}]
}

// Keys returns the keys of all series, sorted by service, version, upstream.
func (r *Registry) Keys() []Key {
	r.mu.RLock()
	keys := slices.Clone(r.keys)
	r.mu.RUnlock()
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
	return r.window([]*Series{s}, window, since)
}

// VersionWindow is Window over every upstream of (service, version) merged.
func (r *Registry) VersionWindow(service, version string, window time.Duration, since time.Time) Summary {
	return r.window(r.versionSeries(service, version), window, since)
}

func (r *Registry) window(ss []*Series, window time.Duration, since time.Time) Summary {
	if len(ss) == 0 || window <= 0 {
		return Summary{}
	}
	now := r.now().UnixNano()
	lo := now - int64(window)
	if !since.IsZero() {
		lo = max(lo, since.UnixNano())
	}
	if lo > now {
		return Summary{}
	}
	p := planWindow(lo, now)
	if p.from > p.to {
		return Summary{}
	}
	a := newAgg()
	born := int64(1<<63 - 1)
	for _, s := range ss {
		s.mergeInto(&a, p, p.from, p.to)
		born = min(born, s.born.Load())
	}
	start := max(p.from*1e9, born)
	return a.summary(time.Duration(now - start))
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
	ss := r.versionSeries(service, version)
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
			s.mergeInto(&a, p, at, at+stepSec-res)
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
