package telemetry

import (
	"cmp"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/proxy"
	"github.com/turnout-gw/turnout/internal/route"
)

// codeSlots is one slot per status code 100..599 plus one for any other
// value, whose label is CodeOther.
const codeSlots = 501

// CodeOther is the code label of a status outside 100..599.
const CodeOther = "other"

// codeLabels are the code label values, computed once: the hot path never
// formats a number.
var codeLabels = func() (l [codeSlots]string) {
	for i := range 500 {
		l[i] = strconv.Itoa(i + 100)
	}
	l[500] = CodeOther
	return l
}()

func codeIndex(code int) int {
	if code < 100 || code > 599 {
		return 500
	}
	return code - 100
}

// serviceMetrics holds the pre-resolved children of one service.
type serviceMetrics struct {
	name string
	// decisions is indexed by route.Reason; [ReasonNone] stays nil.
	decisions [route.ReasonFallback + 1]prometheus.Counter
	versions  atomic.Pointer[map[string]*versionMetrics]
	mu        sync.Mutex // serialises writers of versions
	// configured and rollout say whether the last Configure had the
	// service, and with a rollout (under Metrics.mu).
	configured, rollout bool
}

// versionMetrics holds the children of one (service, served version): the
// duration histogram and one counter per status code, resolved on the
// code's first use.
//
// The counters are a short copy-on-write list of the codes seen so far,
// sorted by code: a version answers with a handful of codes, and a list of
// them costs a few dozen bytes where an array with a slot for every code
// 100..599 cost 4 KiB per version.
type versionMetrics struct {
	service, version string
	duration         prometheus.Observer
	codes            atomic.Pointer[[]codeCounter] // nil until the first request
	mu               sync.Mutex                    // serialises writers of codes
}

// codeCounter is the requests counter of one status code, by codeIndex.
type codeCounter struct {
	slot    int
	counter prometheus.Counter
}

// findCode returns the counter of slot in codes (sorted by slot), or nil.
func findCode(codes []codeCounter, slot int) prometheus.Counter {
	lo, hi := 0, len(codes)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		switch c := codes[mid].slot; {
		case c == slot:
			return codes[mid].counter
		case c < slot:
			lo = mid + 1
		default:
			hi = mid
		}
	}
	return nil
}

func (m *Metrics) newService(name string) *serviceMetrics {
	sm := &serviceMetrics{name: name}
	for _, r := range route.Reasons {
		sm.decisions[r] = m.decisions.WithLabelValues(name, r.String())
	}
	empty := map[string]*versionMetrics{}
	sm.versions.Store(&empty)
	return sm
}

// service returns the children of service name, creating them on first
// use. The common case is one lock-free map read.
func (m *Metrics) service(name string) *serviceMetrics {
	if sm := (*m.services.Load())[name]; sm != nil {
		return sm
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	cur := *m.services.Load()
	if sm := cur[name]; sm != nil {
		return sm
	}
	next := make(map[string]*serviceMetrics, len(cur)+1)
	for k, v := range cur {
		next[k] = v
	}
	sm := m.newService(name)
	next[name] = sm
	m.services.Store(&next)
	return sm
}

// version returns the children of (sm, version), creating them on first use.
func (sm *serviceMetrics) version(m *Metrics, name string) *versionMetrics {
	if vm := (*sm.versions.Load())[name]; vm != nil {
		return vm
	}
	sm.mu.Lock()
	defer sm.mu.Unlock()
	cur := *sm.versions.Load()
	if vm := cur[name]; vm != nil {
		return vm
	}
	next := make(map[string]*versionMetrics, len(cur)+1)
	for k, v := range cur {
		next[k] = v
	}
	vm := &versionMetrics{service: sm.name, version: name, duration: m.durations.WithLabelValues(sm.name, name)}
	next[name] = vm
	sm.versions.Store(&next)
	return vm
}

// prune forgets the versions sc no longer declares; m.mu is held.
func (sm *serviceMetrics) prune(m *Metrics, sc *config.Service) {
	sm.mu.Lock()
	defer sm.mu.Unlock()
	cur := *sm.versions.Load()
	gone := false
	for name := range cur {
		if _, ok := sc.Versions[name]; !ok && name != NoVersion {
			gone = true
			break
		}
	}
	if !gone {
		return
	}
	next := make(map[string]*versionMetrics, len(cur))
	for name, vm := range cur {
		if _, ok := sc.Versions[name]; ok || name == NoVersion {
			next[name] = vm
			continue
		}
		l := prometheus.Labels{"service": sm.name, "version": name}
		m.requests.DeletePartialMatch(l)
		m.durations.DeletePartialMatch(l)
	}
	sm.versions.Store(&next)
}

// counter returns the requests counter of a status code. The common case is
// a lock-free search of a few entries; a code's first use copies the list
// under vm.mu.
func (vm *versionMetrics) counter(m *Metrics, code int) prometheus.Counter {
	i := codeIndex(code)
	if p := vm.codes.Load(); p != nil {
		if c := findCode(*p, i); c != nil {
			return c
		}
	}
	vm.mu.Lock()
	defer vm.mu.Unlock()
	var cur []codeCounter
	if p := vm.codes.Load(); p != nil {
		cur = *p
		if c := findCode(cur, i); c != nil {
			return c
		}
	}
	c := m.requests.WithLabelValues(vm.service, vm.version, codeLabels[i])
	at, _ := slices.BinarySearchFunc(cur, i, func(e codeCounter, slot int) int { return cmp.Compare(e.slot, slot) })
	next := slices.Insert(slices.Clip(cur), at, codeCounter{i, c})
	vm.codes.Store(&next)
	return c
}

// Observer returns the proxy.Observer that records every finished request
// in turnout_requests_total, turnout_request_duration_seconds and
// turnout_decisions_total. It does its work in Finished: one lock-free map
// read per label and no allocation once a series exists.
func (m *Metrics) Observer() proxy.Observer { return requestObserver{m} }

type requestObserver struct{ m *Metrics }

// Decided does nothing: a decision is counted when its request finishes,
// under the reason it ended with.
func (requestObserver) Decided(*route.Decision) {}

// Attempted does nothing: attempts feed the stats registry, not metrics.
func (requestObserver) Attempted(*proxy.Attempt) {}

// Finished counts the request under its service, served version and status,
// observes its duration, and counts its decision: under "fallback" when it
// was retried on the fallback version, else under the decision's reason.
// Requests that were never routed (400, 404, 406) count no decision.
func (o requestObserver) Finished(r *proxy.Result) {
	d := r.Decision
	name := Unmatched
	if d.Service != nil {
		name = d.Service.Name
	}
	sm := o.m.service(name)
	if reason := d.Reason; reason != route.ReasonNone && int(reason) < len(sm.decisions) {
		if r.FellBack {
			reason = route.ReasonFallback
		}
		sm.decisions[reason].Inc()
	}
	version := NoVersion
	if r.Served != nil {
		version = r.Served.Name
	}
	vm := sm.version(o.m, version)
	vm.counter(o.m, r.Status).Inc()
	vm.duration.Observe(r.Duration.Seconds())
}
