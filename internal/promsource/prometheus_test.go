package promsource_test

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/gateway"
	"github.com/turnout-gw/turnout/internal/rollout"
	"github.com/turnout-gw/turnout/internal/testutil"
)

// envoyBuckets are upper bounds of Envoy's upstream_rq_time histogram, in
// milliseconds (a subset of Envoy's defaults).
var envoyBuckets = []float64{1, 5, 10, 25, 50, 100, 250, 500, 1000}

// cluster is what the exporter adds to one Envoy cluster's counters at
// every scrape.
type cluster struct {
	ok, failed int     // 2xx and 5xx responses
	latencyMs  float64 // every response's upstream_rq_time
}

// exporter exposes Envoy's cluster statistics the way Envoy's
// /stats/prometheus does (envoy_cluster_upstream_rq_xx by response code
// class, envoy_cluster_upstream_rq_time as a histogram in milliseconds),
// advancing each cluster's counters by its per-scrape traffic at every
// scrape. A cluster appears once it has had traffic.
type exporter struct {
	mu      sync.Mutex
	traffic map[string]cluster
	totals  map[string]*totals
	scrapes int
}

type totals struct {
	xx      map[string]int // response code class -> count
	buckets []int          // cumulative counts per envoyBuckets
	count   int
	sum     float64
}

func newExporter(t *testing.T) (*exporter, *httptest.Server) {
	e := &exporter{traffic: map[string]cluster{}, totals: map[string]*totals{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = io.WriteString(w, e.scrape())
	}))
	t.Cleanup(srv.Close)
	return e, srv
}

// set changes a cluster's per-scrape traffic.
func (e *exporter) set(name string, c cluster) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.traffic[name] = c
}

func (e *exporter) scraped() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.scrapes
}

// scrape advances the counters and writes them in the text format.
func (e *exporter) scrape() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.scrapes++
	for name, c := range e.traffic {
		n := c.ok + c.failed
		if n == 0 {
			continue
		}
		tot := e.totals[name]
		if tot == nil {
			tot = &totals{xx: map[string]int{}, buckets: make([]int, len(envoyBuckets))}
			e.totals[name] = tot
		}
		tot.xx["2"] += c.ok
		tot.xx["5"] += c.failed
		for i, le := range envoyBuckets {
			if c.latencyMs <= le {
				tot.buckets[i] += n
			}
		}
		tot.count += n
		tot.sum += float64(n) * c.latencyMs
	}
	var b strings.Builder
	b.WriteString("# TYPE envoy_cluster_upstream_rq_xx counter\n")
	for name, tot := range e.totals {
		for _, class := range []string{"2", "5"} {
			fmt.Fprintf(&b, "envoy_cluster_upstream_rq_xx{envoy_response_code_class=%q,envoy_cluster_name=%q} %d\n", class, name, tot.xx[class])
		}
	}
	b.WriteString("# TYPE envoy_cluster_upstream_rq_time histogram\n")
	for name, tot := range e.totals {
		for i, le := range envoyBuckets {
			fmt.Fprintf(&b, "envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name=%q,le=\"%g\"} %d\n", name, le, tot.buckets[i])
		}
		fmt.Fprintf(&b, "envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name=%q,le=\"+Inf\"} %d\n", name, tot.count)
		fmt.Fprintf(&b, "envoy_cluster_upstream_rq_time_sum{envoy_cluster_name=%q} %g\n", name, tot.sum)
		fmt.Fprintf(&b, "envoy_cluster_upstream_rq_time_count{envoy_cluster_name=%q} %d\n", name, tot.count)
	}
	return b.String()
}

// TestPrometheusAnalysis runs a whole Turnout whose rollout analysis reads
// a real Prometheus server scraping Envoy-style cluster metrics: with no
// data the rollout waits for traffic; healthy metrics step it forward (the
// p95 is Prometheus's histogram_quantile over Envoy's millisecond buckets);
// errors roll it back. A rollout whose Prometheus is unreachable waits for
// metrics, and the failures are counted on /metrics.
func TestPrometheusAnalysis(t *testing.T) {
	exp, expSrv := newExporter(t)
	prom := startPrometheus(t, strings.TrimPrefix(expSrv.URL, "http://"))
	text, err := os.ReadFile("testdata/analysis.yaml")
	if err != nil {
		t.Fatal(err)
	}
	gone := "http://" + testutil.ClosedAddr(t)
	tt := testutil.StartWith(t, string(text), map[string]string{"PROM": prom.URL, "ORDERS": gone, "TIMEOUT": "2s"},
		gateway.AppOptions{Tick: 50 * time.Millisecond})
	status := func(service string) rollout.Status {
		s, err := tt.App.Engine.Status(service)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	// No data: Prometheus scrapes the exporter, which has no users-v2
	// series yet.
	testutil.Eventually(t, 30*time.Second, "two scrapes", func() bool { return exp.scraped() >= 2 })
	after := time.Now()
	testutil.Eventually(t, 10*time.Second, "an analysis after the scrapes", func() bool {
		a := status("users").LastAnalysis
		return a != nil && a.At.After(after)
	})
	if s := status("users"); s.State != rollout.Progressing || s.Weight != 10 || s.LastAnalysis.Result != rollout.ResultWaiting ||
		!strings.HasPrefix(s.Reason, "waiting for traffic: 0 of 20 requests to v2") {
		t.Fatalf("no data: %s at %v, reason %q; want waiting for traffic at 10", s.State, s.Weight, s.Reason)
	}

	// Healthy: 40 answers per scrape, all in 10-25 ms, and the old version
	// alongside.
	exp.set("users-v1", cluster{ok: 400, latencyMs: 3})
	exp.set("users-v2", cluster{ok: 40, latencyMs: 20})
	var pass *rollout.Analysis
	testutil.Eventually(t, 30*time.Second, "a passing analysis and the step to 50", func() bool {
		s := status("users")
		if a := s.LastAnalysis; a != nil && a.Result == rollout.ResultPass && pass == nil {
			pass = a
		}
		return pass != nil && s.Weight == 50
	})
	// histogram_quantile interpolates in the (10, 25] ms bucket: 10 + 0.95 × 15.
	if got, want := pass.To.P95, 24250*time.Microsecond; math.Abs(float64(got-want)) > float64(10*time.Microsecond) {
		t.Errorf("p95 of v2 = %v, want %v", got, want)
	}
	if pass.Requests < 20 || pass.Errors != 0 || pass.From.Requests <= pass.Requests {
		t.Errorf("passing analysis: to %d requests %d errors, from %d requests", pass.Requests, pass.Errors, pass.From.Requests)
	}

	// Errors: two thirds of v2's answers fail.
	exp.set("users-v2", cluster{ok: 10, failed: 20, latencyMs: 20})
	broke := time.Now()
	testutil.Eventually(t, 30*time.Second, "a rollback", func() bool { return status("users").State == rollout.RolledBack })
	t.Logf("errors to rollback: %v (scrapes every 1s, analysis every 250ms)", time.Since(broke).Round(time.Millisecond))
	if s := status("users"); s.Weight != 0 || !strings.Contains(s.Reason, "error_rate") {
		t.Fatalf("after errors: %s at %v, reason %q; want rolled back for the error rate", s.State, s.Weight, s.Reason)
	}

	// The unreachable server: waiting for metrics, counted.
	if s := status(`or"ders`); s.State != rollout.Progressing || !strings.HasPrefix(s.Reason, "waiting for metrics: query requests of v2") {
		t.Fatalf("orders: %s, reason %q; want waiting for metrics", s.State, s.Reason)
	}
	// What one analysis of a version costs: three queries at once.
	const fetches = 20
	start := time.Now()
	for range fetches {
		if _, err := tt.App.Analysis.FetchWindow("users", "v2", 5*time.Second, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("FetchWindow against Prometheus: %v each", (time.Since(start) / fetches).Round(time.Microsecond))
	if n := tt.App.Analysis.Failures(); n == 0 {
		t.Fatal("no failed fetch counted")
	}
	resp, err := http.Get(tt.AdminURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "turnout_analysis_query_failures_total ") {
		t.Fatalf("/metrics has no turnout_analysis_query_failures_total")
	}
}
