package cli

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/admin"
	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/proxy"
	"github.com/turnout-gw/turnout/internal/rollout"
	"github.com/turnout-gw/turnout/internal/route"
	"github.com/turnout-gw/turnout/internal/stats"
	"github.com/turnout-gw/turnout/internal/store"
	"github.com/turnout-gw/turnout/internal/upstream"
)

const testConfig = `
upstreams:
  users-v1: { targets: ["http://127.0.0.1:9001"] }
  users-v2: { targets: ["http://127.0.0.1:9002", "http://127.0.0.1:9003"] }
  orders-v1: { targets: ["http://127.0.0.1:9004"] }
services:
  users:
    match: { hosts: [api.example.com], path_prefix: /users }
    default: v1
    versions:
      v1: { upstream: users-v1, lifecycle: deprecated, sunset: 2027-06-30T00:00:00Z, successor: v2 }
      v2: { upstream: users-v2 }
    rollout:
      from: v1
      to: v2
      weight: 10
      steps: [10, 25, 50, 100]
      step_interval: 30s
      analysis: { window: 10s, min_requests: 20, max_error_rate: 0.05, max_latency_p95: 500ms }
  orders:
    match: { path_prefix: /orders }
    default: v1
    versions:
      v1: { upstream: orders-v1 }
`

// The fixture below mirrors internal/admin's test fixture: the real admin
// API over a real engine, store, stats registry and routing snapshot.

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fixture is a real engine, store, stats registry and routing snapshot
// behind the admin API on an httptest server.
type fixture struct {
	clock  *clock
	engine *rollout.Engine
	store  store.Store
	stats  *stats.Registry
	srv    *httptest.Server
}

func newFixture(t *testing.T, token string) *fixture {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte(testConfig))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	f := &fixture{clock: &clock{t: time.Now().Add(-90 * time.Second).Truncate(time.Second)}}
	f.store, err = store.Open(store.MemoryPath, store.WithClock(f.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.store.Close() })
	f.stats = stats.NewRegistry(f.clock.Now)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	f.engine, err = rollout.New(f.store, f.stats, rollout.WithClock(f.clock.Now), rollout.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	table, err := route.Compile(cfg, route.WithWeights(f.engine.Plan(cfg)))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.engine.Sync(cfg); err != nil {
		t.Fatal(err)
	}
	pools := map[string]*upstream.Pool{}
	for name, spec := range cfg.Upstreams {
		p, err := upstream.New(spec)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		pools[name] = p
	}
	snap := &proxy.Snapshot{Table: table, Pools: pools}
	api := admin.New(admin.Options{
		Token:    func() string { return token },
		Log:      log,
		Engine:   f.engine,
		Events:   f.store,
		Snapshot: func() *proxy.Snapshot { return snap },
	})
	f.srv = httptest.NewServer(api)
	t.Cleanup(f.srv.Close)
	return f
}
