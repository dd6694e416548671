package rollout

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/stats"
	"github.com/turnout-gw/turnout/internal/store"
	"github.com/turnout-gw/turnout/internal/testutil/testclock"
)

// prefetchStats is a remoteStats that records its Prefetch calls and the
// fetches made after them.
type prefetchStats struct {
	remoteStats
	mu         sync.Mutex
	prefetched [][]stats.Query
	fetches    int // FetchWindow calls made before any Prefetch
}

func (p *prefetchStats) Prefetch(qs []stats.Query) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.prefetched = append(p.prefetched, slices.Clone(qs))
}

func (p *prefetchStats) FetchWindow(service, version string, w time.Duration, since time.Time) (stats.Summary, error) {
	p.mu.Lock()
	if len(p.prefetched) == 0 {
		p.fetches++
	}
	p.mu.Unlock()
	return p.remoteStats.FetchWindow(service, version, w, since)
}

// TestTickPrefetchesEveryWindowOnce: a Prefetcher is told every due
// rollout's window, with its `to` and `from` and the step's start, in one
// call before any is read.
func TestTickPrefetchesEveryWindowOnce(t *testing.T) {
	text := `
upstreams: { u: { targets: [http://127.0.0.1:9001] } }
services:
  a:
    match: { path_prefix: /a }
    default: v1
    versions: { v1: { upstream: u }, v2: { upstream: u } }
    rollout: { from: v1, to: v2, weight: 10, analysis: { window: 30s, max_error_rate: 0.05 } }
  b:
    match: { path_prefix: /b }
    default: v1
    versions: { v1: { upstream: u }, v3: { upstream: u } }
    rollout: { from: v1, to: v3, weight: 10, analysis: { max_error_rate: 0.05 } }
`
	cfg, err := config.Parse("test.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	clock := testclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	st, err := store.Open("memory", store.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	ps := &prefetchStats{remoteStats: remoteStats{by: map[string]stats.Summary{}}}
	eng, err := New(st, ps, WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Sync(cfg); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	eng.Tick()
	if len(ps.prefetched) != 1 || ps.fetches != 0 {
		t.Fatalf("%d prefetches, %d fetches before the first: want one prefetch first", len(ps.prefetched), ps.fetches)
	}
	qs := ps.prefetched[0]
	slices.SortFunc(qs, func(x, y stats.Query) int { return strings.Compare(x.Service, y.Service) })
	sa, _ := eng.Status("a")
	want := []stats.Query{
		{Service: "a", Versions: []string{"v2", "v1"}, Window: 30 * time.Second, Since: sa.StepStartedAt},
		{Service: "b", Versions: []string{"v3", "v1"}, Window: 10 * time.Second, Since: sa.StepStartedAt},
	}
	if len(qs) != 2 {
		t.Fatalf("prefetched %+v", qs)
	}
	for i := range want {
		g, w := qs[i], want[i]
		if g.Service != w.Service || !slices.Equal(g.Versions, w.Versions) || g.Window != w.Window || !g.Since.Equal(w.Since) {
			t.Errorf("query %d: %+v, want %+v", i, g, w)
		}
	}
}
