package promsource

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/stats"
	"github.com/turnout-gw/turnout/internal/testutil/testclock"
)

// apiServer is a real HTTP server speaking the /api/v1/query protocol: it
// answers each query with the body of the first rule whose key the query
// contains (rules are tried in order), and records the queries and their
// time parameters.
type apiServer struct {
	*httptest.Server
	mu      sync.Mutex
	rules   [][2]string // substring, body
	queries []string
	times   []string
	block   chan struct{} // when set, every answer waits for it (or the client to give up)
}

func newAPIServer(t *testing.T) *apiServer {
	s := &apiServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/prefix/api/v1/query" || r.Method != http.MethodPost {
			http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusNotFound)
			return
		}
		q := r.FormValue("query")
		s.mu.Lock()
		s.queries = append(s.queries, q)
		s.times = append(s.times, r.FormValue("time"))
		block, body := s.block, vector()
		for _, rule := range s.rules {
			if strings.Contains(q, rule[0]) {
				body = rule[1]
				break
			}
		}
		s.mu.Unlock()
		if block != nil {
			select {
			case <-block:
			case <-r.Context().Done():
				return
			}
		}
		code := http.StatusOK
		if strings.Contains(body, `"status":"error"`) {
			code = http.StatusBadRequest
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *apiServer) answer(rules ...[2]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules, s.queries, s.times = rules, nil, nil
}

func (s *apiServer) seen() ([]string, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.queries...), append([]string(nil), s.times...)
}

// loadSource compiles testdata/analysis.yaml against srv (for both users
// and orders) with the query timeout given.
func loadSource(t *testing.T, srv *apiServer, timeout string, clock *testclock.Clock) (*config.Config, *Source) {
	t.Helper()
	text, err := os.ReadFile("testdata/analysis.yaml")
	if err != nil {
		t.Fatal(err)
	}
	url := srv.URL + "/prefix/"
	text = []byte(strings.NewReplacer("{{PROM}}", url, "{{ORDERS}}", url, "{{TIMEOUT}}", timeout).Replace(string(text)))
	cfg, err := config.Parse("analysis.yaml", text)
	if err != nil {
		t.Fatal(err)
	}
	src, err := Compile(cfg, WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	return cfg, src
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// TestFetchWindowQueries: the templates are rendered with the version's
// cluster, the window cut short to the step's age, values escaped; the
// queries run at the server's time; only the configured checks are asked.
func TestFetchWindowQueries(t *testing.T) {
	srv := newAPIServer(t)
	clock := testclock.New(t0)
	_, src := loadSource(t, srv, "2s", clock)
	if !src.Has("users") || !src.Has(`or"ders`) || src.Has("local") {
		t.Fatalf("Has: users %v, orders %v, local %v", src.Has("users"), src.Has(`or"ders`), src.Has("local"))
	}
	tests := []struct {
		name, service string
		since         time.Time
		want          []string
	}{
		{"whole window", "users", t0.Add(-time.Minute), []string{
			`histogram_quantile(0.95, sum by (le) (rate(envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="users-v2"}[10000ms]))) / 1000`,
			`sum(increase(envoy_cluster_upstream_rq_xx{envoy_cluster_name="users-v2",envoy_response_code_class="5"}[10000ms]))`,
			`sum(increase(envoy_cluster_upstream_rq_xx{envoy_cluster_name="users-v2"}[10000ms]))`,
		}},
		{"since the step started", "users", t0.Add(-2500 * time.Millisecond), []string{
			`histogram_quantile(0.95, sum by (le) (rate(envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="users-v2"}[2500ms]))) / 1000`,
			`sum(increase(envoy_cluster_upstream_rq_xx{envoy_cluster_name="users-v2",envoy_response_code_class="5"}[2500ms]))`,
			`sum(increase(envoy_cluster_upstream_rq_xx{envoy_cluster_name="users-v2"}[2500ms]))`,
		}},
		{"own queries, escaped names", `or"ders`, time.Time{}, []string{
			`sum(increase(http_requests_total{service="or\"ders",version="v2",code=~"5.."}[10000ms]))`,
			`sum(increase(http_requests_total{service="or\"ders",version="v2"}[10000ms]))`,
		}},
		{"step just started: no query", "users", t0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.answer()
			s, err := src.FetchWindow(tt.service, "v2", 10*time.Second, tt.since)
			if err != nil || s.Requests != 0 {
				t.Fatalf("FetchWindow = %+v, %v; want no traffic", s, err)
			}
			got, times := srv.seen()
			if len(got) != len(tt.want) {
				t.Fatalf("queries %q, want %q", got, tt.want)
			}
			for _, w := range tt.want {
				if !contains(got, w) {
					t.Errorf("query %q not sent; sent %q", w, got)
				}
			}
			for _, ts := range times {
				if ts != "" {
					t.Errorf("query time %q, want none (the server's now)", ts)
				}
			}
		})
	}
	if _, err := src.FetchWindow("local", "v2", time.Second, time.Time{}); err == nil {
		t.Error("FetchWindow of a service analysed by Turnout: no error")
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestFetchWindowSummaries: what the answers make of a Summary.
func TestFetchWindowSummaries(t *testing.T) {
	srv := newAPIServer(t)
	_, src := loadSource(t, srv, "2s", testclock.New(t0))
	const (
		reqs = `envoy_cluster_name="users-v2"}`
		errs = `envoy_response_code_class="5"`
		p95  = `histogram_quantile(0.95`
	)
	tests := []struct {
		name  string
		rules [][2]string
		want  stats.Summary
		err   string
	}{
		{"healthy", [][2]string{{errs, vector("2")}, {p95, vector("0.0425")}, {reqs, vector("199.6")}},
			stats.Summary{Totals: stats.Totals{Requests: 200, Errors: 2, ErrorRate: 2 / 199.6, P95: 42500 * time.Microsecond, Rate: 19.96, Span: 10 * time.Second}}, ""},
		{"no errors series", [][2]string{{errs, vector()}, {p95, vector("0.01")}, {reqs, vector("50")}},
			stats.Summary{Totals: stats.Totals{Requests: 50, P95: 10 * time.Millisecond, Rate: 5, Span: 10 * time.Second}}, ""},
		{"no traffic", [][2]string{{errs, vector()}, {p95, vector("NaN")}, {reqs, vector()}},
			stats.Summary{Totals: stats.Totals{Span: 10 * time.Second}}, ""},
		{"less than one request", [][2]string{{reqs, vector("0.4")}}, stats.Summary{Totals: stats.Totals{Span: 10 * time.Second}}, ""},
		{"latency beyond the last bucket", [][2]string{{p95, vector("+Inf")}, {reqs, vector("50")}},
			stats.Summary{Totals: stats.Totals{Requests: 50, P95: 1<<63 - 1, Rate: 5, Span: 10 * time.Second}}, ""},
		{"no latency for counted requests", [][2]string{{p95, vector("NaN")}, {reqs, vector("50")}}, stats.Summary{},
			"query latency_p95 of v2: no data for 50 requests"},
		{"requests fail", [][2]string{{reqs, `{"status":"error","errorType":"bad_data","error":"boom"}`}}, stats.Summary{},
			"query requests of v2: prometheus: bad_data: boom"},
		{"errors fail", [][2]string{{errs, `{"status":"error","errorType":"execution","error":"boom"}`}, {reqs, vector("50")}}, stats.Summary{},
			"query errors of v2: prometheus: execution: boom"},
		{"two series", [][2]string{{errs, vector("1", "2")}, {reqs, vector("50")}}, stats.Summary{}, "returned 2 series"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.answer(tt.rules...)
			s, err := src.FetchWindow("users", "v2", 10*time.Second, time.Time{})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil || s != tt.want {
				t.Fatalf("FetchWindow = %+v, %v; want %+v", s, err, tt.want)
			}
		})
	}
}

// TestFetchWindowTimeout: a server that does not answer is given up on
// after the configured timeout, with an error.
func TestFetchWindowTimeout(t *testing.T) {
	srv := newAPIServer(t)
	_, src := loadSource(t, srv, "50ms", testclock.New(t0))
	release := make(chan struct{})
	defer close(release)
	srv.mu.Lock()
	srv.block = release
	srv.mu.Unlock()
	_, err := src.FetchWindow("users", "v2", 10*time.Second, time.Time{})
	if err == nil || !strings.Contains(err.Error(), "context deadline exceeded") {
		t.Fatalf("error %v, want a deadline", err)
	}
}

// TestFetchWindowUnreachable: a server that is gone is an error.
func TestFetchWindowUnreachable(t *testing.T) {
	srv := newAPIServer(t)
	_, src := loadSource(t, srv, "2s", testclock.New(t0))
	srv.Close()
	if _, err := src.FetchWindow("users", "v2", 10*time.Second, time.Time{}); err == nil || !strings.Contains(err.Error(), "query requests of v2") {
		t.Fatalf("error %v, want a failed requests query", err)
	}
}
