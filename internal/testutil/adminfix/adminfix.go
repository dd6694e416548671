// Package adminfix is a test fixture shared by the admin API's and the
// CLI's tests: the real admin API over a real rollout engine, in-memory
// store, stats registry and routing snapshot. Import it only from tests.
package adminfix

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/admin"
	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/rollout"
	"github.com/turnout-gw/turnout/internal/route"
	"github.com/turnout-gw/turnout/internal/snapshot"
	"github.com/turnout-gw/turnout/internal/stats"
	"github.com/turnout-gw/turnout/internal/store"
	"github.com/turnout-gw/turnout/internal/testutil/testclock"
	"github.com/turnout-gw/turnout/internal/upstream"
)

// Config is the fixture's configuration: users with a stepped rollout,
// orders without one.
const Config = `
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

// Fixture is a real engine, store, stats registry and routing snapshot
// behind the admin API on an httptest server, all stopped by t.Cleanup.
type Fixture struct {
	Clock  *testclock.Clock
	Engine *rollout.Engine
	Store  store.Store
	Stats  *stats.Registry
	Srv    *httptest.Server
}

// New builds a Fixture from Config whose clock starts at start; mutations
// need token when it is not empty.
func New(t testing.TB, token string, start time.Time) *Fixture {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte(Config))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	f := &Fixture{Clock: testclock.New(start)}
	f.Store, err = store.Open(store.MemoryPath, store.WithClock(f.Clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Store.Close() })
	f.Stats = stats.NewRegistry(f.Clock.Now)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	f.Engine, err = rollout.New(f.Store, f.Stats, rollout.WithClock(f.Clock.Now), rollout.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	table, err := route.Compile(cfg, route.WithWeights(f.Engine.Plan(cfg)))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Engine.Sync(cfg); err != nil {
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
	snap := &snapshot.Snapshot{Table: table, Pools: pools}
	api := admin.New(admin.Options{
		Token:    func() string { return token },
		Log:      log,
		Engine:   f.Engine,
		Events:   f.Store,
		Snapshot: func() *snapshot.Snapshot { return snap },
		Stats:    f.Stats,
	})
	f.Srv = httptest.NewServer(api)
	t.Cleanup(f.Srv.Close)
	return f
}
