package gateway

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/turnout-gw/turnout/internal/adapt"
	"github.com/turnout-gw/turnout/internal/httperr"
	"github.com/turnout-gw/turnout/internal/observe"
	"github.com/turnout-gw/turnout/internal/proxy"
	"github.com/turnout-gw/turnout/internal/upstream"
)

// hardening counts what the data plane's defences did:
//
//	turnout_untrusted_colour_total{service,source}    colour removed from untrusted requests
//	turnout_limit_rejections_total{limit}              requests a limit refused or degraded
//	turnout_adapt_failures_total{service,version,stage} adapters that failed (Turnout's fault: 502)
//
// Injected faults are counted by telemetry.Metrics.ObserveFault
// (turnout_faults_injected_total), which the middleware shares. It is safe
// for concurrent use.
type hardening struct {
	untrusted *prometheus.CounterVec
	faults    func(service, version, kind string)
	limits    map[string]prometheus.Counter // every name of Limits, pre-created at 0
	adapt     *prometheus.CounterVec
}

func newHardening(reg prometheus.Registerer, faults func(service, version, kind string)) *hardening {
	h := &hardening{
		faults: faults,
		untrusted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "turnout_untrusted_colour_total",
			Help: "Requests from untrusted sources whose colour was removed, by service and source (header, cookie, query, pin, signature).",
		}, []string{"service", "source"}),
		limits: map[string]prometheus.Counter{},
		adapt: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "turnout_adapt_failures_total",
			Help: "Requests of versions served_by another whose adapter failed (a program error, a bad or unadaptable answer), answered 502, by stage (request, response).",
		}, []string{"service", "version", "stage"}),
	}
	limits := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "turnout_limit_rejections_total",
		Help: "Requests refused or degraded by a limit: in_flight, header_bytes, framing, fallback_body, upstream_connections, service_in_flight.",
	}, []string{"limit"})
	for _, l := range Limits {
		h.limits[l] = limits.WithLabelValues(l)
	}
	reg.MustRegister(h.untrusted, limits, h.adapt)
	return h
}

// reject counts one request refused by limit (a name of Limits).
func (h *hardening) reject(limit string) {
	if c := h.limits[limit]; c != nil {
		c.Inc()
	}
}

func (h *hardening) untrustedColour(service, source string) {
	h.untrusted.WithLabelValues(service, source).Inc()
}

// events are the proxy's fault and limit events.
func (h *hardening) events() proxy.Events {
	return proxy.EventFuncs{
		FaultFunc: h.faults,
		LimitFunc: h.reject,
	}
}

// observer counts attempts refused by an upstream's max_connections and
// answers refused by limits.max_response_header_bytes.
func (h *hardening) observer() observe.Observer {
	return observe.Funcs{FinishedFunc: h.adaptFailed, AttemptedFunc: func(a *observe.Attempt) {
		switch {
		case a.Err == nil:
		case errors.Is(a.Err, upstream.ErrAtCapacity):
			h.reject(LimitUpstreamConnections)
		case errors.Is(a.Err, upstream.ErrResponseHeaderTooLarge):
			h.reject(LimitResponseHeaderBytes)
		}
	}}
}

// adaptFailed counts a request whose adapter failed by Turnout's fault (not
// a client's body the adapter refused).
func (h *hardening) adaptFailed(r *observe.Result) {
	var ae *adapt.Error
	if r.Err == nil || !errors.As(r.Err, &ae) || httperr.ClientCaused(r.Err) || r.Decision == nil || r.Decision.Service == nil {
		return
	}
	h.adapt.WithLabelValues(r.Decision.Service.Name, ae.Version, string(ae.Stage)).Inc()
}
