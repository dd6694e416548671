package telemetry_test

import (
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/observe"
	"github.com/turnout-gw/turnout/internal/rollout"
	"github.com/turnout-gw/turnout/internal/route"
	"github.com/turnout-gw/turnout/internal/telemetry"
)

// serveMetrics serves m's handler for the test and returns its URL.
func serveMetrics(t *testing.T, m *telemetry.Metrics) string {
	srv := httptest.NewServer(m.Handler())
	t.Cleanup(srv.Close)
	return srv.URL
}

// result builds the Result of one request routed to service/version.
func result(svc *route.Service, v *route.Version, reason route.Reason, status int) *observe.Result {
	d := &route.Decision{Service: svc, Version: v, Reason: reason}
	return &observe.Result{Decision: d, Served: v, Status: status, Duration: 3 * time.Millisecond}
}

func TestObserverLabels(t *testing.T) {
	m := telemetry.NewMetrics()
	url := serveMetrics(t, m)
	users := &route.Service{Name: "users"}
	v1, v2 := &route.Version{Name: "v1"}, &route.Version{Name: "v2"}
	o := m.Observer()
	for _, r := range []*observe.Result{
		result(users, v2, route.ReasonRule, 200),
		result(users, v2, route.ReasonRule, 200),
		result(users, v2, route.ReasonExperiment, 503),
		result(users, v1, route.ReasonDefault, 0),   // no status: "other"
		result(users, v1, route.ReasonDefault, 600), // out of range: "other"
		result(users, nil, route.ReasonPinned, 410), // Turnout's own answer
		result(nil, nil, route.ReasonNone, 404),     // no service
	} {
		o.Decided(r.Decision)
		o.Finished(r)
	}
	fb := result(users, v1, route.ReasonRollout, 200)
	fb.FellBack = true
	o.Finished(fb)

	s := scrapeURL(t, url)
	s.expect(t, 2, "turnout_requests_total", "service=users", "version=v2", "code=200")
	s.expect(t, 1, "turnout_requests_total", "service=users", "version=v2", "code=503")
	s.expect(t, 2, "turnout_requests_total", "service=users", "version=v1", "code=other")
	s.expect(t, 1, "turnout_requests_total", "service=users", "version=v1", "code=200")
	s.expect(t, 1, "turnout_requests_total", "service=users", "version=", "code=410")
	s.expect(t, 1, "turnout_requests_total", "service=", "version=", "code=404")
	s.expect(t, 3, "turnout_request_duration_seconds", "service=users", "version=v2")
	s.expect(t, 2, "turnout_decisions_total", "service=users", "reason=rule")
	s.expect(t, 1, "turnout_decisions_total", "service=users", "reason=experiment")
	s.expect(t, 2, "turnout_decisions_total", "service=users", "reason=default")
	s.expect(t, 1, "turnout_decisions_total", "service=users", "reason=pinned")
	s.expect(t, 1, "turnout_decisions_total", "service=users", "reason=fallback")
	s.expect(t, 0, "turnout_decisions_total", "service=users", "reason=rollout")
	for _, m := range s["turnout_decisions_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "reason" && l.GetValue() == "none" {
				t.Errorf("an unrouted request counted a decision: %v", m)
			}
		}
	}
}

func TestObserveRolloutCountsRollbacksOnce(t *testing.T) {
	m := telemetry.NewMetrics()
	url := serveMetrics(t, m)
	cfg := loadConfig(t, twoServices)
	m.Configure(cfg, []rollout.Status{{Service: "users", State: rollout.Progressing, Weight: 25}})
	s := scrapeURL(t, url)
	s.expect(t, 25, "turnout_rollout_weight", "service=users")
	s.expect(t, 0, "turnout_rollbacks_total", "service=users")

	for _, st := range []string{rollout.RolledBack, rollout.RolledBack, rollout.Progressing, rollout.Paused, rollout.RolledBack} {
		w := 0.0
		if st != rollout.RolledBack {
			w = 5
		}
		m.ObserveRollout(rollout.Status{Service: "users", State: st, Weight: w})
	}
	s = scrapeURL(t, url)
	s.expect(t, 2, "turnout_rollbacks_total", "service=users")
	s.expect(t, 0, "turnout_rollout_weight", "service=users")
}

func TestConfigureForgetsRemovedServicesAndVersions(t *testing.T) {
	m := telemetry.NewMetrics()
	url := serveMetrics(t, m)
	cfg := loadConfig(t, twoServices)
	m.Configure(cfg, nil)
	users, orders := &route.Service{Name: "users"}, &route.Service{Name: "orders"}
	v1, v2 := &route.Version{Name: "v1"}, &route.Version{Name: "v2"}
	o := m.Observer()
	o.Finished(result(users, v1, route.ReasonDefault, 200))
	o.Finished(result(users, v2, route.ReasonPinned, 200))
	o.Finished(result(orders, v1, route.ReasonDefault, 200))
	m.ObserveContractViolation("orders", "v2", "orders-v2", "GET /orders/{id}")
	m.ObserveContractViolation("orders", "v2", "orders-v2", "GET /orders/{id}")
	scrapeURL(t, url).expect(t, 2, "turnout_contract_violations_total", "service=orders", "version=v2", "upstream=orders-v2", "operation=GET /orders/{id}")
	m.Reloaded(nil)
	m.Reloaded(errors.New("broken"))

	m.Configure(loadConfig(t, oneService), nil)
	s := scrapeURL(t, url)
	s.expect(t, 1, "turnout_requests_total", "service=users", "version=v1", "code=200")
	for _, gone := range [][]string{
		{"turnout_requests_total", "service=users", "version=v2", "code=200"},
		{"turnout_requests_total", "service=orders", "version=v1", "code=200"},
		{"turnout_decisions_total", "service=orders", "reason=default"},
		{"turnout_rollout_weight", "service=users"},
		{"turnout_rollbacks_total", "service=users"},
		{"turnout_mirror_compared_total", "service=users", "result=match"},
		{"turnout_contract_violations_total", "service=orders", "version=v2", "upstream=orders-v2", "operation=GET /orders/{id}"},
	} {
		if m := s.find(gone[0], gone[1:]...); m != nil {
			t.Errorf("%v survived a reload that removed it", gone)
		}
	}
	s.expect(t, 1, "turnout_config_reloads_total", "result=success")
	s.expect(t, 1, "turnout_config_reloads_total", "result=failure")
	// Counting goes on for what is still configured.
	o.Finished(result(users, v1, route.ReasonDefault, 200))
	scrapeURL(t, url).expect(t, 2, "turnout_requests_total", "service=users", "version=v1", "code=200")
}

// TestObserverCodesConcurrent has goroutines finish requests with many
// status codes at once, each code first seen in a different order, so the
// per-version list of code counters grows under contention: every request
// must be counted under its own code.
func TestObserverCodesConcurrent(t *testing.T) {
	m := telemetry.NewMetrics()
	url := serveMetrics(t, m)
	o := m.Observer()
	users := &route.Service{Name: "users"}
	v1 := &route.Version{Name: "v1"}
	codes := []int{200, 503, 404, 201, 0, 302, 500, 599, 100, 204, 429, 600, 418, 301, 502, 400}
	const workers, rounds = 8, 50
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range rounds * len(codes) {
				o.Finished(result(users, v1, route.ReasonDefault, codes[(i+w*5)%len(codes)]))
			}
		})
	}
	wg.Wait()
	s := scrapeURL(t, url)
	for _, c := range codes {
		label := "code=" + strconv.Itoa(c)
		want := float64(workers * rounds)
		if c < 100 || c > 599 {
			label, want = "code="+telemetry.CodeOther, 2*want
		}
		s.expect(t, want, "turnout_requests_total", "service=users", "version=v1", label)
	}
}

// TestDurationHistogramMatchesClientGolang feeds the same durations —
// bucket bounds exactly, just above and below them, zero, negative and
// beyond the last bound — to the observer and to a client_golang histogram
// with the same buckets: the scraped histograms must agree.
func TestDurationHistogramMatchesClientGolang(t *testing.T) {
	m := telemetry.NewMetrics()
	ref := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "ref", Buckets: telemetry.DurationBuckets})
	m.Registry().MustRegister(ref)
	url := serveMetrics(t, m)
	o := m.Observer()
	users, v1 := &route.Service{Name: "users"}, &route.Version{Name: "v1"}
	ds := []time.Duration{0, -time.Millisecond, time.Hour, 31 * time.Second}
	for _, b := range telemetry.DurationBuckets {
		d := time.Duration(b * 1e9)
		ds = append(ds, d, d-1, d+1, d/2)
	}
	for _, d := range ds {
		r := result(users, v1, route.ReasonDefault, 200)
		r.Duration = d
		o.Finished(r)
		ref.Observe(d.Seconds())
	}
	s := scrapeURL(t, url)
	got := s.find("turnout_request_duration_seconds", "service=users", "version=v1").GetHistogram()
	want := s.find("ref").GetHistogram()
	if got.GetSampleCount() != want.GetSampleCount() || math.Abs(got.GetSampleSum()-want.GetSampleSum()) > 1e-6 {
		t.Errorf("count, sum = %d, %v; client_golang %d, %v", got.GetSampleCount(), got.GetSampleSum(), want.GetSampleCount(), want.GetSampleSum())
	}
	gb, wb := got.GetBucket(), want.GetBucket()
	if len(gb) != len(wb) {
		t.Fatalf("%d buckets, client_golang %d", len(gb), len(wb))
	}
	for i := range gb {
		if gb[i].GetUpperBound() != wb[i].GetUpperBound() || gb[i].GetCumulativeCount() != wb[i].GetCumulativeCount() {
			t.Errorf("bucket %d: le %v count %d; client_golang le %v count %d", i,
				gb[i].GetUpperBound(), gb[i].GetCumulativeCount(), wb[i].GetUpperBound(), wb[i].GetCumulativeCount())
		}
	}
}

// TestScrapeWhileObserving scrapes while goroutines finish requests: every
// scrape is consistent (a histogram's count is its +Inf bucket, counts
// never go down), and the last one has every request.
func TestScrapeWhileObserving(t *testing.T) {
	m := telemetry.NewMetrics()
	url := serveMetrics(t, m)
	o := m.Observer()
	svcs := []*route.Service{{Name: "a"}, {Name: "b"}, {Name: "c"}}
	vs := []*route.Version{{Name: "v1"}, {Name: "v2"}}
	const workers, per = 4, 2000
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range per {
				r := result(svcs[(i+w)%3], vs[i%2], route.ReasonRollout, 200+(i%3)*100)
				r.Duration = time.Duration(i%50) * time.Millisecond
				o.Finished(r)
			}
		})
	}
	var last float64
	for done := false; !done; {
		done = waitTimeout(&wg, 5*time.Millisecond)
		s := scrapeURL(t, url)
		var total float64
		for _, mt := range s["turnout_request_duration_seconds"].GetMetric() {
			h := mt.GetHistogram()
			b := h.GetBucket()
			if inf := b[len(b)-1]; inf.GetUpperBound() != math.Inf(1) || inf.GetCumulativeCount() != h.GetSampleCount() {
				t.Fatalf("+Inf bucket %v, count %d", inf, h.GetSampleCount())
			}
			total += float64(h.GetSampleCount())
		}
		if total < last {
			t.Fatalf("requests went down from %v to %v", last, total)
		}
		last = total
	}
	if last != workers*per {
		t.Fatalf("last scrape has %v requests, want %d", last, workers*per)
	}
	s := scrapeURL(t, url)
	var decisions float64
	for _, mt := range s["turnout_decisions_total"].GetMetric() {
		decisions += mt.GetCounter().GetValue()
	}
	if decisions != workers*per {
		t.Fatalf("%v decisions, want %d", decisions, workers*per)
	}
}

// TestProtobufScrape reads the request metrics in the protobuf format, from
// concurrent scrapes (samples share label pairs): labels, values and the
// created timestamps a client_golang counter or histogram would carry.
func TestProtobufScrape(t *testing.T) {
	m := telemetry.NewMetrics()
	url := serveMetrics(t, m)
	before := time.Now()
	r := result(&route.Service{Name: "users"}, &route.Version{Name: "v2"}, route.ReasonRule, 503)
	m.Observer().Finished(r)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			req, _ := http.NewRequest("GET", url, nil)
			req.Header.Set("Accept", string(expfmt.NewFormat(expfmt.TypeProtoDelim)))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			fams := map[string]*dto.MetricFamily{}
			dec := expfmt.NewDecoder(resp.Body, expfmt.ResponseFormat(resp.Header))
			for {
				var f dto.MetricFamily
				if err := dec.Decode(&f); err == io.EOF {
					break
				} else if err != nil {
					t.Error(err)
					return
				}
				fams[f.GetName()] = &f
			}
			labels := func(mt *dto.Metric) string {
				var l []string
				for _, p := range mt.GetLabel() {
					l = append(l, p.GetName()+"="+p.GetValue())
				}
				return strings.Join(l, ",")
			}
			var found int
			for _, mt := range fams["turnout_requests_total"].GetMetric() {
				if labels(mt) == "code=503,service=users,version=v2" && mt.GetCounter().GetValue() == 1 &&
					!mt.GetCounter().GetCreatedTimestamp().AsTime().Before(before.Truncate(time.Second)) {
					found++
				}
			}
			for _, mt := range fams["turnout_decisions_total"].GetMetric() {
				if labels(mt) == "reason=rule,service=users" && mt.GetCounter().GetValue() == 1 &&
					mt.GetCounter().GetCreatedTimestamp() != nil {
					found++
				}
			}
			for _, mt := range fams["turnout_request_duration_seconds"].GetMetric() {
				if h := mt.GetHistogram(); labels(mt) == "service=users,version=v2" && h.GetSampleCount() == 1 &&
					len(h.GetBucket()) == len(telemetry.DurationBuckets) && h.GetCreatedTimestamp() != nil {
					found++
				}
			}
			if found != 3 {
				t.Errorf("found %d of the 3 samples in %v", found, fams)
			}
		})
	}
	wg.Wait()
}

// waitTimeout waits for wg up to d and reports whether it is done.
func waitTimeout(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

func TestObserverAllocatesNothing(t *testing.T) {
	m := telemetry.NewMetrics()
	o := m.Observer()
	r := result(&route.Service{Name: "users"}, &route.Version{Name: "v2"}, route.ReasonRollout, 200)
	o.Finished(r) // creates the series
	if n := testing.AllocsPerRun(1000, func() {
		o.Decided(r.Decision)
		o.Finished(r)
	}); n != 0 {
		t.Errorf("observer allocates %v times per request, want 0", n)
	}
}

const twoServices = `
upstreams:
  u1: { targets: ["http://127.0.0.1:1"] }
  u2: { targets: ["http://127.0.0.1:2"] }
services:
  users:
    match: { path_prefix: /users }
    default: v1
    versions: { v1: { upstream: u1 }, v2: { upstream: u2 } }
    rollout: { from: v1, to: v2, weight: 25 }
    mirror: { to: v2 }
  orders:
    match: { path_prefix: /orders }
    default: v1
    versions: { v1: { upstream: u1 } }
`

const oneService = `
upstreams:
  u1: { targets: ["http://127.0.0.1:1"] }
services:
  users:
    match: { path_prefix: /users }
    default: v1
    versions: { v1: { upstream: u1 } }
`

func loadConfig(t testing.TB, text string) *config.Config {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte("listen: 127.0.0.1:0\nadmin: { listen: 127.0.0.1:0 }\nstate: memory\n"+text))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// BenchmarkObserver is the metrics cost of one request: Decided and
// Finished of the request observer, its series already created.
func BenchmarkObserver(b *testing.B) {
	o, r := benchObserver()
	b.ReportAllocs()
	for b.Loop() {
		o.Decided(r.Decision)
		o.Finished(r)
	}
}

// BenchmarkObserverParallel is BenchmarkObserver from every P at once (the
// counters are shared, as in the gateway).
func BenchmarkObserverParallel(b *testing.B) {
	o, r := benchObserver()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			o.Decided(r.Decision)
			o.Finished(r)
		}
	})
}

// BenchmarkScrape1000 is one GET /metrics with 1,000 services that have
// served requests from two versions each.
func BenchmarkScrape1000(b *testing.B) {
	m := telemetry.NewMetrics()
	o := m.Observer()
	for i := range 1000 {
		svc := &route.Service{Name: "svc" + strconv.Itoa(i)}
		for _, v := range []string{"v1", "v2"} {
			o.Finished(result(svc, &route.Version{Name: v}, route.ReasonRollout, 200))
		}
	}
	h := m.Handler()
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}

func benchObserver() (observe.Observer, *observe.Result) {
	m := telemetry.NewMetrics()
	o := m.Observer()
	// Several services and versions, as a real configuration has.
	for _, name := range []string{"accounts", "billing", "orders", "search", "users"} {
		svc := &route.Service{Name: name}
		for _, v := range []string{"v1", "v2", "v3"} {
			o.Finished(result(svc, &route.Version{Name: v}, route.ReasonDefault, 200))
		}
	}
	r := result(&route.Service{Name: "users"}, &route.Version{Name: "v2"}, route.ReasonRollout, 200)
	o.Finished(r)
	return o, r
}
