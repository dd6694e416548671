package telemetry

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/observe"
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

// serviceMetrics holds the request metrics of one service, in plain
// atomic counters that requestCollector turns into Prometheus samples when
// /metrics is scraped. Client_golang's own children cost some 500 bytes
// each (label pairs, a created timestamp, the vector's index) and a
// histogram child over 1 KiB: with six decision reasons, a requests
// counter and a histogram per version, ~8 KiB per service. These cost a
// few hundred bytes.
type serviceMetrics struct {
	name    string
	created stamp // of the decision counters
	// decisions is indexed by route.Reason; [ReasonNone] is not exposed.
	decisions [route.ReasonFallback + 1]atomic.Uint64
	// versions is a copy-on-write list of the versions that served a
	// request, searched linearly: a service has a handful, and a list of
	// them costs a few dozen bytes where a map costs a few hundred.
	versions atomic.Pointer[[]*versionMetrics] // nil: none yet
	mu       sync.Mutex                        // serialises writers of versions
	// configured and rollout say whether the last Configure had the
	// service, and with a rollout (under Metrics.mu).
	configured, rollout bool
}

// versionMetrics holds the metrics of one (service, served version): the
// duration histogram and one counter per status code seen.
//
// The counters are a short copy-on-write list of the codes seen so far,
// sorted by code: a version answers with a handful of codes, and a list of
// them costs a few dozen bytes where an array with a slot for every code
// 100..599 cost 4 KiB per version.
type versionMetrics struct {
	version  string
	duration durationHist
	codes    atomic.Pointer[[]codeCounter] // nil until the first request
	mu       sync.Mutex                    // serialises writers of codes
}

// codeCounter is the requests counter of one status code, by codeIndex.
type codeCounter struct {
	slot int
	*counter
}

// counter is a counter with its creation time (Prometheus' created
// timestamp, exposed in the protobuf format).
type counter struct {
	n       atomic.Uint64
	created stamp
}

// findCode returns the counter of slot in codes (sorted by slot), or nil.
func findCode(codes []codeCounter, slot int) *counter {
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

// durationBounds are DurationBuckets in nanoseconds: a request falls in the
// first bucket whose bound it does not exceed (Prometheus' "le").
var durationBounds = func() (b [nDurationBuckets]int64) {
	if len(DurationBuckets) != nDurationBuckets {
		panic("telemetry: nDurationBuckets does not match DurationBuckets")
	}
	for i, s := range DurationBuckets {
		b[i] = int64(math.Round(s * 1e9))
	}
	return b
}()

const nDurationBuckets = 14

// durationHist is a turnout_request_duration_seconds histogram: a count per
// bucket (the last one +Inf) and the sum in nanoseconds. A scrape reads the
// buckets one by one and the sum after them, so it can count a request in
// flight in one and not the other; the count it reports is the buckets'
// total, consistent with the buckets.
type durationHist struct {
	created stamp
	counts  [nDurationBuckets + 1]atomic.Uint64
	sumNs   atomic.Int64
}

func (h *durationHist) observe(d time.Duration) {
	i := 0
	for i < nDurationBuckets && int64(d) > durationBounds[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sumNs.Add(int64(d))
}

func (m *Metrics) newService(name string) *serviceMetrics {
	return &serviceMetrics{name: name, created: stampNow()}
}

// service returns the metrics of service name, creating them on first
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

// versionList returns sm's versions; callers must not modify the slice.
func (sm *serviceMetrics) versionList() []*versionMetrics {
	if p := sm.versions.Load(); p != nil {
		return *p
	}
	return nil
}

// findVersion returns the metrics of version name in list, or nil.
func findVersion(list []*versionMetrics, name string) *versionMetrics {
	for _, vm := range list {
		if vm.version == name {
			return vm
		}
	}
	return nil
}

// version returns the metrics of (sm, version), creating them on first use.
func (sm *serviceMetrics) version(name string) *versionMetrics {
	if vm := findVersion(sm.versionList(), name); vm != nil {
		return vm
	}
	sm.mu.Lock()
	defer sm.mu.Unlock()
	cur := sm.versionList()
	if vm := findVersion(cur, name); vm != nil {
		return vm
	}
	vm := &versionMetrics{version: name, duration: durationHist{created: stampNow()}}
	next := append(slices.Clip(cur), vm)
	sm.versions.Store(&next)
	return vm
}

// prune forgets the versions sc no longer declares; m.mu is held.
func (sm *serviceMetrics) prune(sc *config.Service) {
	sm.mu.Lock()
	defer sm.mu.Unlock()
	declared := func(vm *versionMetrics) bool {
		_, ok := sc.Versions[vm.version]
		return ok || vm.version == NoVersion
	}
	cur := sm.versionList()
	if !slices.ContainsFunc(cur, func(vm *versionMetrics) bool { return !declared(vm) }) {
		return
	}
	next := make([]*versionMetrics, 0, len(cur))
	for _, vm := range cur {
		if declared(vm) {
			next = append(next, vm)
		}
	}
	sm.versions.Store(&next)
}

// counter returns the requests counter of a status code. The common case is
// a lock-free search of a few entries; a code's first use copies the list
// under vm.mu.
func (vm *versionMetrics) counter(code int) *counter {
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
	c := &counter{created: stampNow()}
	at, _ := slices.BinarySearchFunc(cur, i, func(e codeCounter, slot int) int { return cmp.Compare(e.slot, slot) })
	next := slices.Insert(slices.Clip(cur), at, codeCounter{i, c})
	vm.codes.Store(&next)
	return c
}

var (
	requestsDesc = prometheus.NewDesc("turnout_requests_total",
		"Requests answered, by service, served version and HTTP status code.",
		[]string{"service", "version", "code"}, nil)
	durationsDesc = prometheus.NewDesc("turnout_request_duration_seconds",
		"Time from a request's arrival until its response headers were written, by service and served version.",
		[]string{"service", "version"}, nil)
	decisionsDesc = prometheus.NewDesc("turnout_decisions_total",
		"Routing decisions by reason (pinned, rule, experiment, rollout, default; fallback when the request was retried on the fallback version).",
		[]string{"service", "reason"}, nil)
)

// requestCollector exposes turnout_requests_total,
// turnout_request_duration_seconds and turnout_decisions_total from the
// services' counters: every decision reason of every service (0 until
// used), and the codes and histogram of every version that served a
// request.
//
// A scrape builds each sample's protobuf in place, in one allocation
// (counterSample, histogramSample). Label pairs are shared: one per
// service and per version within a scrape, and the code and reason pairs
// between scrapes; client_golang only reads them.
type requestCollector struct{ m *Metrics }

func (requestCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- requestsDesc
	ch <- durationsDesc
	ch <- decisionsDesc
}

func (c requestCollector) Collect(ch chan<- prometheus.Metric) {
	for _, sm := range *c.m.services.Load() {
		service := &dto.LabelPair{Name: &labelService, Value: &sm.name}
		for _, r := range route.Reasons {
			s := &counterSample{desc: decisionsDesc, value: float64(sm.decisions[r].Load())}
			s.labels[0], s.labels[1], s.n = reasonPairs[r], service, 2 // sorted by name
			s.setCreated(sm.created)
			ch <- s
		}
		for _, vm := range sm.versionList() {
			version := &dto.LabelPair{Name: &labelVersion, Value: &vm.version}
			if p := vm.codes.Load(); p != nil {
				for _, cc := range *p {
					s := &counterSample{desc: requestsDesc, value: float64(cc.n.Load())}
					s.labels, s.n = [3]*dto.LabelPair{codePairs[cc.slot], service, version}, 3
					s.setCreated(cc.created)
					ch <- s
				}
			}
			ch <- newHistogramSample(&vm.duration, service, version)
		}
	}
}

// Label names, and the code and reason label pairs, for the samples.
var (
	labelService, labelVersion, labelCode, labelReason = "service", "version", "code", "reason"

	codePairs = func() (p [codeSlots]*dto.LabelPair) {
		for i := range p {
			p[i] = &dto.LabelPair{Name: &labelCode, Value: &codeLabels[i]}
		}
		return p
	}()
	reasonPairs = func() (p [route.ReasonFallback + 1]*dto.LabelPair) {
		for _, r := range route.Reasons {
			v := r.String()
			p[r] = &dto.LabelPair{Name: &labelReason, Value: &v}
		}
		return p
	}()
)

// Observer returns the observe.Observer that records every finished request
// in turnout_requests_total, turnout_request_duration_seconds and
// turnout_decisions_total. It does its work in Finished: one lock-free map
// read per label and no allocation once a series exists.
func (m *Metrics) Observer() observe.Observer { return requestObserver{m} }

type requestObserver struct{ m *Metrics }

// Decided does nothing: a decision is counted when its request finishes,
// under the reason it ended with.
func (requestObserver) Decided(*route.Decision) {}

// Attempted does nothing: attempts feed the stats registry, not metrics.
func (requestObserver) Attempted(*observe.Attempt) {}

// Finished counts the request under its service, served version and status,
// observes its duration, and counts its decision: under "fallback" when it
// was retried on the fallback version, else under the decision's reason.
// Requests that were never routed (400, 404, 406) count no decision.
func (o requestObserver) Finished(r *observe.Result) {
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
		sm.decisions[reason].Add(1)
	}
	version := NoVersion
	if r.Served != nil {
		version = r.Served.Name
	}
	vm := sm.version(version)
	vm.counter(r.Status).n.Add(1)
	vm.duration.observe(r.Duration)
}
