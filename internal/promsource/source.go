package promsource

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"text/template"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/stats"
)

// ClusterName is the Envoy cluster Turnout's xDS server makes of an
// upstream: the upstream's own name. The default queries select Envoy's
// metrics by it ({{.Cluster}}), so internal/xds must name clusters the same
// way.
func ClusterName(upstream string) string { return upstream }

// Source answers analysis windows from a Prometheus server for the
// services of one configuration whose analysis has source: prometheus. It
// is immutable and safe for concurrent use.
type Source struct {
	services map[string]*service
	now      func() time.Time
}

// service is one service's compiled queries.
type service struct {
	api     *client
	timeout time.Duration
	// queries in kind order; latency queries are nil when the analysis
	// has no such check.
	queries   [numKinds]*template.Template
	upstreams map[string]string // version -> upstream
}

// settings are what the Options set.
type settings struct {
	now    func() time.Time
	client *http.Client
	log    *slog.Logger
}

// Option configures Compile and NewRouter.
type Option func(*settings) error

// WithClock injects the clock that cuts windows short to the step's age
// (default time.Now). Queries are evaluated at the server's own time, so
// that a skew between the clocks never empties a window.
func WithClock(now func() time.Time) Option {
	return func(s *settings) error {
		if now == nil {
			return errors.New("promsource: nil clock")
		}
		s.now = now
		return nil
	}
}

// WithHTTPClient sets the client the queries are sent with (default:
// http.DefaultClient). Queries are bounded by the configured timeout
// whatever the client's own.
func WithHTTPClient(c *http.Client) Option {
	return func(s *settings) error {
		if c == nil {
			return errors.New("promsource: nil HTTP client")
		}
		s.client = c
		return nil
	}
}

// WithLogger sets the logger of failed queries (NewRouter).
func WithLogger(l *slog.Logger) Option {
	return func(s *settings) error {
		if l == nil {
			return errors.New("promsource: nil logger")
		}
		s.log = l
		return nil
	}
}

func newSettings(opts []Option) (settings, error) {
	s := settings{now: time.Now, log: slog.Default()}
	for _, o := range opts {
		if err := o(&s); err != nil {
			return s, err
		}
	}
	return s, nil
}

// Compile parses the query templates of every service of cfg whose
// analysis reads Prometheus. cfg must be valid (config.Load); a problem
// found here names the analysis's position.
func Compile(cfg *config.Config, opts ...Option) (*Source, error) {
	set, err := newSettings(opts)
	if err != nil {
		return nil, err
	}
	return compile(cfg, set)
}

func compile(cfg *config.Config, set settings) (*Source, error) {
	src := &Source{services: map[string]*service{}, now: set.now}
	clients := map[string]*client{} // one per server
	for _, name := range cfg.ServiceNames() {
		sc := cfg.Services[name]
		if sc == nil || sc.Rollout == nil || sc.Rollout.Analysis.Source != config.AnalysisPrometheus {
			continue
		}
		a := &sc.Rollout.Analysis
		p := cfg.PrometheusFor(a)
		fail := func(err error) error {
			return a.Errorf("source", "services.%s.rollout.analysis.source: %v", name, err)
		}
		if p.URL == "" {
			return nil, fail(errors.New("no prometheus url"))
		}
		c, ok := clients[p.URL]
		if !ok {
			var err error
			if c, err = newClient(p.URL, set.client); err != nil {
				return nil, fail(err)
			}
			clients[p.URL] = c
		}
		s := &service{api: c, timeout: p.Timeout.D(), upstreams: map[string]string{}}
		texts := [numKinds]string{p.Queries.Requests, p.Queries.Errors, p.Queries.LatencyP95, p.Queries.LatencyP99}
		needed := [numKinds]bool{true, true, a.MaxLatencyP95 > 0, a.MaxLatencyP99 > 0}
		for k := range numKinds {
			if !needed[k] {
				continue
			}
			t, err := config.ParsePromQuery(kind(k).String(), texts[k])
			if err != nil {
				return nil, fail(fmt.Errorf("query %s: %w", kind(k), err))
			}
			s.queries[k] = t
		}
		for vn, v := range sc.Versions {
			if v != nil {
				s.upstreams[vn] = v.Upstream
			}
		}
		src.services[name] = s
	}
	return src, nil
}

// Has reports whether service's analysis reads this Source.
func (src *Source) Has(service string) bool {
	_, ok := src.services[service]
	return ok
}

// FetchWindow returns version's requests, errors and latency quantiles over
// the window, cut short to the time since `since` (the step's start),
// measured by Prometheus. It waits at most the configured timeout. No data
// for the requests (or none of them) is a zero Summary: no traffic yet. A
// failed or timed-out query, a result that is not one number, and no
// latency data for requests that were counted are errors.
func (src *Source) FetchWindow(service, version string, window time.Duration, since time.Time) (stats.Summary, error) {
	s := src.services[service]
	if s == nil {
		return stats.Summary{}, fmt.Errorf("service %q does not read its analysis from prometheus", service)
	}
	now := src.now()
	span := window
	if !since.IsZero() && now.Sub(since) < span {
		span = now.Sub(since)
	}
	span = span.Truncate(time.Millisecond)
	if span <= 0 {
		return stats.Summary{}, nil // the step has just started
	}
	up := s.upstreams[version]
	vars := config.PromQueryVars{Service: quote(service), Version: quote(version), Upstream: quote(up),
		Cluster: quote(ClusterName(up)), Window: promDuration(span)}
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	var res [numKinds]result
	done := make(chan struct{}, numKinds)
	n := 0
	for k, t := range s.queries {
		if t == nil {
			continue
		}
		n++
		go func() {
			res[k] = s.run(ctx, t, vars)
			done <- struct{}{}
		}()
	}
	for range n {
		<-done
	}
	return summarize(version, span, res)
}

// summarize turns the results of one version's queries into a Summary.
func summarize(version string, span time.Duration, res [numKinds]result) (stats.Summary, error) {
	req := res[kindRequests]
	if req.err != nil {
		return stats.Summary{}, fmt.Errorf("query requests of %s: %w", version, req.err)
	}
	requests := math.Round(req.value)
	if !req.ok || requests < 1 {
		return stats.Summary{Totals: stats.Totals{Span: span}}, nil // no traffic: the other numbers mean nothing
	}
	errs := res[kindErrors]
	if errs.err != nil {
		return stats.Summary{}, fmt.Errorf("query errors of %s: %w", version, errs.err)
	}
	sum := stats.Summary{Totals: stats.Totals{Requests: int64(requests), Span: span}}
	if errs.ok {
		sum.Errors = min(int64(math.Round(errs.value)), sum.Requests)
		sum.ErrorRate = min(errs.value/req.value, 1)
	}
	sum.Rate = req.value / max(span.Seconds(), 1)
	for _, k := range []kind{kindLatencyP95, kindLatencyP99} {
		r := res[k]
		switch {
		case !r.used:
			continue
		case r.err != nil:
			return stats.Summary{}, fmt.Errorf("query %s of %s: %w", k, version, r.err)
		case !r.ok:
			return stats.Summary{}, fmt.Errorf("query %s of %s: no data for %d requests", k, version, sum.Requests)
		}
		d := seconds(r.value)
		if k == kindLatencyP95 {
			sum.P95 = d
		} else {
			sum.P99 = d
		}
	}
	return sum, nil
}

// seconds converts a latency in seconds; +Inf (a quantile beyond the
// histogram's last bucket) is the longest duration.
func seconds(v float64) time.Duration {
	if v*float64(time.Second) >= math.MaxInt64 {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(v * float64(time.Second))
}
