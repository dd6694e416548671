package telemetry

import (
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/rollout"
)

// Label values of the metrics that are not configuration names.
const (
	// Unmatched is the service label of requests no service matched (the
	// 404s Turnout answers itself). It is the empty string, which no
	// configured service can be named.
	Unmatched = ""
	// NoVersion is the version label of requests no version answered:
	// Turnout's own 400, 404, 406, 410 and 308 answers.
	NoVersion = ""

	MirrorMatch = "match"
	MirrorDiff  = "diff"
	MirrorError = "error"

	ReloadSuccess = "success"
	ReloadFailure = "failure"
)

// DurationBuckets are the upper bounds, in seconds, of
// turnout_request_duration_seconds: from one millisecond (a proxy hop on
// one machine) to thirty seconds (a slow upstream near its timeout).
var DurationBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// Metrics owns Turnout's private Prometheus registry: the request,
// decision, rollout, mirror and reload metrics of SPEC.md plus the Go
// runtime and process collectors. It is safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	mirror  *prometheus.CounterVec
	reloads *prometheus.CounterVec
	// violations counts contract violations by service, version and
	// operation (the operations of the `from` document: bounded by it).
	violations *prometheus.CounterVec
	// faults counts injected faults by service, version and kind (the
	// proxy's and the middleware's alike).
	faults *prometheus.CounterVec

	reloadOK, reloadFailed prometheus.Counter

	// services holds the request metrics per service name (see
	// requestCollector). Reads are lock-free; writers copy the map under
	// mu and swap it.
	services atomic.Pointer[map[string]*serviceMetrics]
	// mirrors holds the pre-created comparison counters (match, diff,
	// error) of the services that have a mirror block.
	mirrors atomic.Pointer[map[string]*[3]prometheus.Counter]
	mu      sync.Mutex
	// rollouts holds the rollout weight gauge and rollbacks counter per
	// service (under mu; see rolloutCollector), with the last state seen,
	// so a transition into rolled_back is counted once.
	rollouts map[string]rolloutSeen
	// strayMirrors are the services whose mirror series ObserveMirror
	// created without a configured mirror (under mu): Configure deletes
	// them with the series of removed mirrors.
	strayMirrors map[string]bool
}

// NewMetrics returns Metrics with every metric registered on a new
// registry. The series of configuration names appear with Configure.
func NewMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), rollouts: map[string]rolloutSeen{}, strayMirrors: map[string]bool{}}
	m.mirror = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "turnout_mirror_compared_total",
		Help: "Mirrored responses compared with the primary's, by result (match, diff, error).",
	}, []string{"service", "result"})
	m.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "turnout_config_reloads_total",
		Help: "Configuration reloads after start (file change, SIGHUP, admin API), by result.",
	}, []string{"result"})
	m.violations = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "turnout_contract_violations_total",
		Help: "Validated answers that broke the OpenAPI response schema they were checked against (a rollout's `to` against `from`'s document, an adapted version against its own), by version, the upstream that answered and the operation.",
	}, []string{"service", "version", "upstream", "operation"})
	m.faults = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "turnout_faults_injected_total",
		Help: "Faults injected into requests by versions.NAME.fault and rules[].fault, by kind (delay, abort).",
	}, []string{"service", "version", "kind"})
	m.reg.MustRegister(requestCollector{m}, rolloutCollector{m}, m.mirror, m.reloads, m.violations, m.faults,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.reloadOK = m.reloads.WithLabelValues(ReloadSuccess)
	m.reloadFailed = m.reloads.WithLabelValues(ReloadFailure)
	empty := map[string]*serviceMetrics{}
	m.services.Store(&empty)
	noMirrors := map[string]*[3]prometheus.Counter{}
	m.mirrors.Store(&noMirrors)
	return m
}

// ObserveFault counts one fault of kind (fault.KindDelay,
// fault.KindAbort) injected into a request to service's version, by
// whichever applier injected it (the proxy or the middleware).
func (m *Metrics) ObserveFault(service, version, kind string) {
	m.faults.WithLabelValues(service, version, kind).Inc()
}

// Registry returns the private registry, for extra collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// WatchAccessLog exposes the access log's dropped lines as
// turnout_access_log_dropped_total.
func (m *Metrics) WatchAccessLog(l *AccessLog) {
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "turnout_access_log_dropped_total",
		Help: "Access log lines dropped because the writer fell behind (its queue was full).",
	}, func() float64 { return float64(l.Dropped()) }))
}

// WatchAnalysisQueries exposes the failed fetches of analysis from
// Prometheus (promsource.Router.Failures) as
// turnout_analysis_query_failures_total.
func (m *Metrics) WatchAnalysisQueries(failures func() uint64) {
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "turnout_analysis_query_failures_total",
		Help: "Analysis fetches from Prometheus that failed or timed out (the rollout waited instead of judging).",
	}, func() float64 { return float64(failures()) }))
}

// Reloaded counts one configuration reload. The load at start is not a
// reload and is not counted.
func (m *Metrics) Reloaded(err error) {
	if err != nil {
		m.reloadFailed.Inc()
		return
	}
	m.reloadOK.Inc()
}

// ObserveMirror counts one mirror comparison of service with result match,
// diff or error; any other result is counted as error. service must be a
// configured service name.
func (m *Metrics) ObserveMirror(service, result string) {
	i := 2
	switch result {
	case MirrorMatch:
		i = 0
	case MirrorDiff:
		i = 1
	}
	if c := (*m.mirrors.Load())[service]; c != nil {
		c[i].Inc()
		return
	}
	m.mu.Lock()
	m.strayMirrors[service] = true
	m.mu.Unlock()
	m.mirror.WithLabelValues(service, mirrorResults[i]).Inc()
}

var mirrorResults = [3]string{MirrorMatch, MirrorDiff, MirrorError}

// ObserveContractViolation counts one answer of service's version, given
// by upstream (the serving version's, for an adapted version), that broke
// the contract of operation (e.g. "GET /items/{id}").
func (m *Metrics) ObserveContractViolation(service, version, upstream, operation string) {
	m.violations.WithLabelValues(service, version, upstream, operation).Inc()
}

// ObserveRollout is the rollout engine's observer (rollout.WithObserver):
// it sets the weight gauge and counts a transition into rolled_back.
func (m *Metrics) ObserveRollout(st rollout.Status) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.rollouts[st.Service]
	if st.State == rollout.RolledBack && r.seen && r.state != rollout.RolledBack {
		r.ensureCounter()
		r.rollbacks++
	}
	r.state, r.weight, r.seen = st.State, st.Weight, true
	m.rollouts[st.Service] = r
}

// Configure adopts an applied configuration and the rollouts' statuses
// after it: the series of services and versions no longer configured are
// deleted (so label sets stay bounded by the configuration), the weight
// gauge and the rollback and mirror counters of configured rollouts and
// mirrors are created (at 0 for counters) so they are scraped before the
// first event. A service configured as before costs a few map reads.
func (m *Metrics) Configure(cfg *config.Config, statuses []rollout.Status) {
	m.mu.Lock()
	defer m.mu.Unlock()
	old, oldMirrors := *m.services.Load(), *m.mirrors.Load()
	next := make(map[string]*serviceMetrics, len(cfg.Services)+1)
	mirrors := make(map[string]*[3]prometheus.Counter, len(oldMirrors))
	for name, sm := range old {
		sc, ok := cfg.Services[name]
		if !ok && name != Unmatched {
			m.forget(name)
			continue
		}
		next[name] = sm
		if ok {
			sm.prune(sc)
		}
	}
	for name, sc := range cfg.Services {
		sm, known := next[name], true
		if sm == nil || !sm.configured {
			if sm == nil {
				sm = m.newService(name)
				next[name] = sm
			}
			known, sm.configured = false, true
		}
		if sc.Rollout == nil {
			delete(m.rollouts, name)
		} else if !sm.rollout || !known {
			r := m.rollouts[name]
			r.ensureCounter()
			m.rollouts[name] = r
		}
		sm.rollout = sc.Rollout != nil
		if sc.Contract == nil || sc.Contract.ValidatePercent <= 0 {
			m.violations.DeletePartialMatch(prometheus.Labels{"service": name})
		}
		if sc.Mirror == nil {
			if _, had := oldMirrors[name]; had || !known || m.strayMirrors[name] {
				m.mirror.DeletePartialMatch(prometheus.Labels{"service": name})
			}
		} else if c := oldMirrors[name]; c != nil {
			mirrors[name] = c
		} else {
			var c [3]prometheus.Counter
			for i, res := range mirrorResults {
				c[i] = m.mirror.WithLabelValues(name, res)
			}
			mirrors[name] = &c
		}
	}
	clear(m.strayMirrors)
	if next[Unmatched] == nil {
		next[Unmatched] = m.newService(Unmatched)
	}
	m.services.Store(&next)
	m.mirrors.Store(&mirrors)
	for _, st := range statuses {
		if _, ok := cfg.Services[st.Service]; ok {
			r := m.rollouts[st.Service]
			r.state, r.weight, r.seen = st.State, st.Weight, true
			m.rollouts[st.Service] = r
		}
	}
}

// forget deletes every series of a service no longer configured; m.mu is
// held.
func (m *Metrics) forget(name string) {
	l := prometheus.Labels{"service": name}
	m.mirror.DeletePartialMatch(l)
	m.violations.DeletePartialMatch(l)
	delete(m.rollouts, name)
	delete(m.strayMirrors, name)
}
