package config

import (
	"strings"
	"testing"
	"time"
)

func TestPrometheusFor(t *testing.T) {
	cfg, err := Load("testdata/valid/prometheus.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		service  string
		url      string
		timeout  time.Duration
		requests string
		p95      string
	}{
		// Everything from the top-level block and the defaults.
		{"users", "http://127.0.0.1:9090", time.Second, DefaultPromRequests, DefaultPromLatencyP95},
		// The analysis's own block wins key by key.
		{"orders", "https://prometheus.example:9443/prom", time.Second,
			`sum(increase(http_requests_total{service="{{.Service}}",version="{{.Version}}"}[{{.Window}}]))`, DefaultPromLatencyP95},
	}
	for _, tt := range tests {
		t.Run(tt.service, func(t *testing.T) {
			a := &cfg.Services[tt.service].Rollout.Analysis
			if a.Source != AnalysisPrometheus {
				t.Fatalf("source = %q", a.Source)
			}
			p := cfg.PrometheusFor(a)
			if p.URL != tt.url || p.Timeout.D() != tt.timeout || p.Queries.Requests != tt.requests || p.Queries.LatencyP95 != tt.p95 {
				t.Errorf("PrometheusFor = %+v", p)
			}
		})
	}
	// Without any block: the defaults.
	p := (&Config{}).PrometheusFor(&Analysis{})
	if p.URL != "" || p.Timeout.D() != DefaultPromTimeout || p.Queries.Errors != DefaultPromErrors || p.Queries.LatencyP99 != DefaultPromLatencyP99 {
		t.Errorf("defaults = %+v", p)
	}
}

func TestParsePromQuery(t *testing.T) {
	tests := []struct {
		name, text, err string
	}{
		{"default requests", DefaultPromRequests, ""},
		{"default errors", DefaultPromErrors, ""},
		{"default p95", DefaultPromLatencyP95, ""},
		{"default p99", DefaultPromLatencyP99, ""},
		{"every value", `x{s="{{.Service}}",v="{{.Version}}",u="{{.Upstream}}",c="{{.Cluster}}"}[{{.Window}}]`, ""},
		{"empty", "  ", "the query is empty"},
		{"unclosed action", "x[{{.Window]", "not a valid template"},
		{"unknown value", "x{c=\"{{.Clustr}}\"}", "cannot be rendered"},
		{"renders to nothing", "{{if false}}x{{end}}", "renders to nothing"},
		{"message on one line", "x\n{{.Clustr}}", `q:2:2: executing "q" at <.Clustr>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl, err := ParsePromQuery("q", tt.text)
			if tt.err == "" {
				if err != nil || tmpl == nil {
					t.Fatalf("ParsePromQuery = %v, %v", tmpl, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("ParsePromQuery error = %v, want one containing %q", err, tt.err)
			}
		})
	}
}
