package telemetry

import (
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// rolloutSeen is what the metrics hold of one service's rollout, in
// Metrics.rollouts (under Metrics.mu): the last state and weight seen,
// which are turnout_rollout_weight once a status was seen, and the
// turnout_rollbacks_total counter once created. rolloutCollector turns
// them into samples when /metrics is scraped; a client_golang gauge and
// counter child per service cost some 800 bytes, this entry under 100.
type rolloutSeen struct {
	state  string
	weight float64 // the weight gauge's value, exposed once seen is set
	seen   bool    // a status was seen: the gauge exists
	// rollbacks is the counter's value; created is when it was created,
	// zero while it does not exist.
	rollbacks uint64
	created   stamp
}

// ensureCounter creates the rollbacks counter, at 0, unless it exists.
func (r *rolloutSeen) ensureCounter() {
	if r.created == 0 {
		r.created = stampNow()
	}
}

var (
	weightDesc = prometheus.NewDesc("turnout_rollout_weight",
		"Current rollout weight: percent of unpinned traffic sent to the rollout's `to` version.",
		[]string{"service"}, nil)
	rollbacksDesc = prometheus.NewDesc("turnout_rollbacks_total",
		"Rollouts that went to rolled_back, automatically or by abort.",
		[]string{"service"}, nil)
)

// rolloutCollector exposes turnout_rollout_weight and
// turnout_rollbacks_total from Metrics.rollouts. It copies the values
// under Metrics.mu and sends the samples after releasing it.
type rolloutCollector struct{ m *Metrics }

func (rolloutCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- weightDesc
	ch <- rollbacksDesc
}

func (c rolloutCollector) Collect(ch chan<- prometheus.Metric) {
	c.m.mu.Lock()
	samples := make([]prometheus.Metric, 0, 2*len(c.m.rollouts))
	for name, r := range c.m.rollouts {
		service := &dto.LabelPair{Name: &labelService, Value: &name}
		if r.seen {
			g := &gaugeSample{desc: weightDesc, value: r.weight}
			g.labels[0] = service
			samples = append(samples, g)
		}
		if r.created != 0 {
			s := &counterSample{desc: rollbacksDesc, value: float64(r.rollbacks), n: 1}
			s.labels[0] = service
			s.setCreated(r.created)
			samples = append(samples, s)
		}
	}
	c.m.mu.Unlock()
	for _, s := range samples {
		ch <- s
	}
}
