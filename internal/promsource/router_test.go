package promsource

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/rollout"
	"github.com/turnout-gw/turnout/internal/stats"
	"github.com/turnout-gw/turnout/internal/store"
	"github.com/turnout-gw/turnout/internal/testutil/syncbuf"
	"github.com/turnout-gw/turnout/internal/testutil/testclock"
)

// TestRouterEngine drives a real rollout engine over a Router: the service
// analysed by Turnout reads the local registry, the ones analysed by
// Prometheus read the API server; a failing server makes the rollout wait
// (not roll back), is counted, and is logged once until it recovers.
func TestRouterEngine(t *testing.T) {
	srv := newAPIServer(t)
	clock := testclock.New(t0)
	cfg, _ := loadSource(t, srv, "2s", clock)
	reg := stats.NewRegistry(clock.Now)
	var logs syncbuf.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	router, err := NewRouter(reg, WithClock(clock.Now), WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	if err := router.Update(cfg); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open("memory", store.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	eng, err := rollout.New(st, router, rollout.WithClock(clock.Now), rollout.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Sync(cfg); err != nil {
		t.Fatal(err)
	}
	tick := func() {
		clock.Advance(time.Second)
		eng.Tick()
	}
	status := func(service string) rollout.Status {
		s, err := eng.Status(service)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	// Turnout's own stats: 30 healthy requests of local's v2.
	for range 30 {
		reg.Record(stats.Key{Service: "local", Version: "v2", Upstream: "users-v2"}, false, time.Millisecond)
	}
	// Prometheus fails for every query.
	srv.answer([2]string{"", `{"status":"error","errorType":"unavailable","error":"tsdb not ready"}`})
	for range 3 {
		tick()
	}
	if s := status("users"); s.State != rollout.Progressing || s.Weight != 10 ||
		!strings.HasPrefix(s.Reason, "waiting for metrics: query requests of v2: prometheus: unavailable: tsdb not ready") {
		t.Fatalf("users: %s at %v, reason %q; want waiting for metrics at 10", s.State, s.Weight, s.Reason)
	}
	if s := status("local"); s.LastAnalysis == nil || s.LastAnalysis.Result != rollout.ResultPass || s.LastAnalysis.Requests != 30 {
		t.Fatalf("local: analysis %+v, want a pass over 30 requests from the registry", s.LastAnalysis)
	}
	if n := router.Failures(); n < 12 {
		t.Fatalf("failures %d, want at least 12 (3 ticks of two versions of two services)", n)
	}
	if n := strings.Count(logs.String(), "level=WARN msg=\"prometheus analysis query failed\""); n != 4 {
		t.Fatalf("%d warnings logged, want one per failing service and version:\n%s", n, logs.String())
	}

	// Prometheus answers: users' v2 is broken, orders' v2 has no data.
	srv.answer([2]string{`envoy_response_code_class="5"`, vector("40")}, [2]string{`envoy_cluster_name="users-v2"`, vector("100")},
		[2]string{`histogram_quantile`, vector("0.01")})
	tick()
	if s := status("users"); s.State != rollout.RolledBack || !strings.Contains(s.Reason, "error_rate 0.4000 > max 0.0500") {
		t.Fatalf("users: %s, reason %q; want rolled back for its error rate", s.State, s.Reason)
	}
	if s := status(`or"ders`); s.State != rollout.Progressing || !strings.HasPrefix(s.Reason, "waiting for traffic: 0 of 20 requests") {
		t.Fatalf("orders: %s, reason %q; want waiting for traffic", s.State, s.Reason)
	}
	if !strings.Contains(logs.String(), "prometheus analysis queries answer again") {
		t.Fatalf("no recovery logged:\n%s", logs.String())
	}

	// A configuration without Prometheus analysis: everything is local.
	local, err := config.Parse("local.yaml", []byte(`
upstreams: { u: { targets: [http://127.0.0.1:9001] } }
services:
  users:
    default: v1
    versions: { v1: { upstream: u }, v2: { upstream: u } }
    rollout: { from: v1, to: v2, weight: 10 }
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := router.Update(local); err != nil {
		t.Fatal(err)
	}
	if router.Source().Has("users") {
		t.Fatal("users still read from Prometheus after the update")
	}
	srv.answer()
	reg.Record(stats.Key{Service: "users", Version: "v2", Upstream: "u"}, true, time.Millisecond)
	if s, err := router.FetchWindow("users", "v2", 10*time.Second, time.Time{}); err != nil || s.Requests != 1 || s.Errors != 1 {
		t.Fatalf("FetchWindow = %+v, %v; want the registry's one failed request", s, err)
	}
	if q, _ := srv.seen(); len(q) != 0 {
		t.Fatalf("Prometheus asked %q for a local service", q)
	}
}

func TestNewRouterOptions(t *testing.T) {
	reg := stats.NewRegistry(time.Now)
	for name, opt := range map[string]Option{"clock": WithClock(nil), "client": WithHTTPClient(nil), "logger": WithLogger(nil)} {
		if _, err := NewRouter(reg, opt); err == nil {
			t.Errorf("nil %s: no error", name)
		}
	}
	if _, err := NewRouter(nil); err == nil {
		t.Error("no local stats: no error")
	}
}
