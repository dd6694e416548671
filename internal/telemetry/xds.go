package telemetry

import "github.com/prometheus/client_golang/prometheus"

// XDSMetrics are the metrics of the xDS server (internal/xds), on the same
// registry as the HTTP metrics:
//
//	turnout_xds_nacks_total{kind,type}
//
// kind is the node kind (envoy or grpc), type the rejected resource type
// (listener, route, cluster, endpoint). Safe for concurrent use.
type XDSMetrics struct {
	nacks *prometheus.CounterVec
}

// NewXDSMetrics registers the xDS metrics on reg (Metrics.Registry()).
func NewXDSMetrics(reg prometheus.Registerer) *XDSMetrics {
	x := &XDSMetrics{nacks: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "turnout_xds_nacks_total",
		Help: "xDS responses a client rejected (NACK), by node kind (envoy, grpc) and resource type (listener, route, cluster, endpoint).",
	}, []string{"kind", "type"})}
	reg.MustRegister(x.nacks)
	return x
}

// Rejected counts one rejected response.
func (x *XDSMetrics) Rejected(kind, typ string) {
	x.nacks.WithLabelValues(kind, typ).Inc()
}
