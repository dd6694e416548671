package telemetry

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/qn"
)

// QNMetrics are the metrics of the QN listeners (internal/qnproxy), on the
// same registry as the HTTP metrics:
//
//	turnout_qn_connections_total{service,version}
//	turnout_qn_frames_total{service,version,type}
//	turnout_qn_translation_dropped_fields_total{service,field}
//	turnout_qn_rejected_connections_total{service,reason}
//
// It is a qnproxy.Observer.
type QNMetrics struct {
	conns    *prometheus.CounterVec
	frames   *prometheus.CounterVec
	dropped  *prometheus.CounterVec
	rejected *prometheus.CounterVec

	mu    sync.Mutex
	known map[string]bool // the QN services of the last configuration
}

// NewQNMetrics registers the QN metrics on reg (Metrics.Registry()).
func NewQNMetrics(reg prometheus.Registerer) *QNMetrics {
	q := &QNMetrics{
		conns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "turnout_qn_connections_total",
			Help: "QN device connections routed, by service and version.",
		}, []string{"service", "version"}),
		frames: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "turnout_qn_frames_total",
			Help: "QN frames carried in either direction, by service, version and frame type (DATA, ACK, NACK, PING, PONG, ERROR).",
		}, []string{"service", "version", "type"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "turnout_qn_translation_dropped_fields_total",
			Help: "Fields a v2 → v1 translation could not carry, by service and registered field name (\"unregistered\" for the others).",
		}, []string{"service", "field"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "turnout_qn_rejected_connections_total",
			Help: "QN connections closed by Turnout, by reason (not_qn, malformed, too_large, timeout, capacity, no_version, upstream, upstream_qn, grace).",
		}, []string{"service", "reason"}),
	}
	reg.MustRegister(q.conns, q.frames, q.dropped, q.rejected)
	return q
}

// Connected counts one routed connection.
func (q *QNMetrics) Connected(service, version string) {
	q.conns.WithLabelValues(service, version).Inc()
}

// FrameCounter resolves the frame counters of (service, version) once.
func (q *QNMetrics) FrameCounter(service, version string) func(qn.Type) {
	var byType [qn.TypeError + 1]prometheus.Counter
	for t := qn.TypeData; t <= qn.TypeError; t++ {
		byType[t] = q.frames.WithLabelValues(service, version, t.String())
	}
	return func(t qn.Type) {
		if t >= qn.TypeData && t <= qn.TypeError {
			byType[t].Inc()
		}
	}
}

// Dropped counts fields lost in translation.
func (q *QNMetrics) Dropped(service, field string, n int) {
	q.dropped.WithLabelValues(service, field).Add(float64(n))
}

// Rejected counts a connection Turnout closed.
func (q *QNMetrics) Rejected(service, reason string) {
	q.rejected.WithLabelValues(service, reason).Inc()
}

// Configure deletes the series of the services that were QN services of
// the previous configuration and are not of cfg.
func (q *QNMetrics) Configure(cfg *config.Config) {
	q.mu.Lock()
	defer q.mu.Unlock()
	next := map[string]bool{}
	for name, s := range cfg.Services {
		if s.IsQN() {
			next[name] = true
		}
	}
	for name := range q.known {
		if !next[name] {
			l := prometheus.Labels{"service": name}
			q.conns.DeletePartialMatch(l)
			q.frames.DeletePartialMatch(l)
			q.dropped.DeletePartialMatch(l)
			q.rejected.DeletePartialMatch(l)
		}
	}
	q.known = next
}
