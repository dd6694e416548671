package config

import (
	"errors"
	"fmt"
	"strings"
	"text/template"
	"time"
)

// Analysis sources (Analysis.Source).
const (
	AnalysisTurnout    = "turnout"
	AnalysisPrometheus = "prometheus"
)

// Prometheus is where an analysis with source: prometheus reads its
// numbers: a Prometheus server's HTTP API and one PromQL template per
// measurement. The top-level block is shared by every such analysis; an
// analysis's own block overrides it key by key (see Config.PrometheusFor).
type Prometheus struct {
	Meta    `yaml:"-"`
	URL     string      `yaml:"url"`
	Timeout Duration    `yaml:"timeout"`
	Queries PromQueries `yaml:"queries"`
}

// PromQueries are the PromQL templates of the four measurements analysis
// needs of a version. Requests and Errors are counts over the window;
// LatencyP95 and LatencyP99 are in seconds. Each is a text/template over
// PromQueryVars. Empty: the default, written for Envoy's cluster metrics.
type PromQueries struct {
	Meta       `yaml:"-"`
	Requests   string `yaml:"requests"`
	Errors     string `yaml:"errors"`
	LatencyP95 string `yaml:"latency_p95"`
	LatencyP99 string `yaml:"latency_p99"`
}

// PromQueryVars are the values a query template may use. Service, Version,
// Upstream and Cluster are escaped for use inside a double-quoted PromQL
// string ("{{.Cluster}}"); Window is a PromQL duration ("10000ms").
type PromQueryVars struct {
	Service string
	Version string
	// Upstream is the version's upstream; Cluster is the name Turnout's
	// xDS server gives its Envoy cluster (the upstream's name).
	Upstream string
	Cluster  string
	// Window is the analysis window, cut short to the time since the
	// current step started.
	Window string
}

// The default query templates read Envoy's standard cluster statistics as
// Envoy's /stats/prometheus exposes them: upstream_rq_xx by response code
// class, and upstream_rq_time, a histogram in milliseconds.
const (
	DefaultPromRequests   = `sum(increase(envoy_cluster_upstream_rq_xx{envoy_cluster_name="{{.Cluster}}"}[{{.Window}}]))`
	DefaultPromErrors     = `sum(increase(envoy_cluster_upstream_rq_xx{envoy_cluster_name="{{.Cluster}}",envoy_response_code_class="5"}[{{.Window}}]))`
	DefaultPromLatencyP95 = `histogram_quantile(0.95, sum by (le) (rate(envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="{{.Cluster}}"}[{{.Window}}]))) / 1000`
	DefaultPromLatencyP99 = `histogram_quantile(0.99, sum by (le) (rate(envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="{{.Cluster}}"}[{{.Window}}]))) / 1000`
	DefaultPromTimeout    = 2 * time.Second
)

// PrometheusFor returns the Prometheus settings analysis a uses: each key
// of a's own block, else of the top-level block, else its default. The
// result has no positions. It reads c and a only.
func (c *Config) PrometheusFor(a *Analysis) Prometheus {
	out := Prometheus{Timeout: Duration(DefaultPromTimeout), Queries: PromQueries{
		Requests: DefaultPromRequests, Errors: DefaultPromErrors,
		LatencyP95: DefaultPromLatencyP95, LatencyP99: DefaultPromLatencyP99,
	}}
	for _, p := range []*Prometheus{c.Prometheus, a.Prometheus} {
		if p == nil {
			continue
		}
		over(&out.URL, p.URL)
		if p.Timeout > 0 {
			out.Timeout = p.Timeout
		}
		q := &p.Queries
		over(&out.Queries.Requests, q.Requests)
		over(&out.Queries.Errors, q.Errors)
		over(&out.Queries.LatencyP95, q.LatencyP95)
		over(&out.Queries.LatencyP99, q.LatencyP99)
	}
	return out
}

func over(dst *string, v string) {
	if v != "" {
		*dst = v
	}
}

// sampleVars render every query once while it is checked, so that a
// reference to a value that does not exist ({{.Clustr}}) is found when the
// configuration loads rather than at the first analysis.
var sampleVars = PromQueryVars{Service: "users", Version: "v2", Upstream: "users-v2", Cluster: "users-v2", Window: "10000ms"}

// ParsePromQuery parses a query template (name is its key, for messages)
// and renders it once with sample values. Both internal/config (to check
// a file) and the Prometheus source (to compile it) parse queries here.
func ParsePromQuery(name, text string) (*template.Template, error) {
	if strings.TrimSpace(text) == "" {
		return nil, fmt.Errorf("the query is empty")
	}
	t, err := template.New(name).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("not a valid template: %w", oneLine(err))
	}
	var b strings.Builder
	if err := t.Execute(&b, sampleVars); err != nil {
		return nil, fmt.Errorf("the template cannot be rendered (it may use {{.Service}}, {{.Version}}, {{.Upstream}}, {{.Cluster}} and {{.Window}}): %w", oneLine(err))
	}
	if strings.TrimSpace(b.String()) == "" {
		return nil, fmt.Errorf("the query renders to nothing")
	}
	return t, nil
}

// oneLine keeps a message that quotes the template on one line.
func oneLine(err error) error {
	if !strings.ContainsAny(err.Error(), "\r\n") {
		return err
	}
	return errors.New(strings.NewReplacer("\r", `\r`, "\n", `\n`).Replace(err.Error()))
}

// Validate checks a prometheus block: an http(s) URL without a query, a
// timeout that is not negative, and query templates that parse and render.
// Whether an analysis that needs a URL gets one is checked by
// Config.Validate.
func (p *Prometheus) Validate() error {
	var col collector
	if p.URL != "" {
		if msg := checkHTTPURL(p.URL, false); msg != "" {
			col.add(p.problem("url", "%s", msg))
		}
	} else if p.Has("url") {
		col.add(p.problem("url", "must not be empty; e.g. http://127.0.0.1:9090"))
	}
	col.add(nonNegativeDuration(&p.Meta, "timeout", p.Timeout))
	q := &p.Queries
	for _, f := range []struct{ key, text string }{
		{"requests", q.Requests}, {"errors", q.Errors}, {"latency_p95", q.LatencyP95}, {"latency_p99", q.LatencyP99},
	} {
		if f.text == "" && !q.Has(f.key) {
			continue
		}
		if _, err := ParsePromQuery(f.key, f.text); err != nil {
			col.add(nest("queries", q.problem(f.key, "%v", err)))
		}
	}
	return col.err()
}

// validatePrometheus checks that a service whose analysis reads Prometheus
// has a URL to read from, in the analysis's block or the top-level one.
func (c *Config) validatePrometheus(s *Service) error {
	r := s.Rollout
	if r == nil || r.Analysis.Source != AnalysisPrometheus || c.PrometheusFor(&r.Analysis).URL != "" {
		return nil
	}
	return nest("rollout.analysis", r.Analysis.problem("source",
		"prometheus needs a server: set url in the top-level prometheus block or in this analysis's prometheus block (e.g. prometheus: {url: http://127.0.0.1:9090})"))
}
