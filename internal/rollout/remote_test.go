package rollout

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/stats"
	"github.com/turnout-gw/turnout/internal/store"
	"github.com/turnout-gw/turnout/internal/testutil/testclock"
)

// remoteStats answers each version from a table, failing for the versions
// in fail.
type remoteStats struct {
	by   map[string]stats.Summary
	fail map[string]error
}

func (r remoteStats) VersionWindow(_, version string, _ time.Duration, _ time.Time) stats.Summary {
	return r.by[version]
}

func (r remoteStats) Remote(string) bool { return true }

func (r remoteStats) FetchWindow(_, version string, _ time.Duration, _ time.Time) (stats.Summary, error) {
	if err := r.fail[version]; err != nil {
		return stats.Summary{}, err
	}
	return r.by[version], nil
}

// TestAnalyzeRemoteStats: a failed fetch of `to` waits with the error as the
// reason (never a failure); a failed fetch of `from` matters only to a
// relative analysis; no data is waiting for traffic.
func TestAnalyzeRemoteStats(t *testing.T) {
	healthy := stats.Summary{Totals: stats.Totals{Requests: 100, Errors: 1, ErrorRate: 0.01, P95: 20 * time.Millisecond}}
	broken := stats.Summary{Totals: stats.Totals{Requests: 100, Errors: 50, ErrorRate: 0.5, P95: 20 * time.Millisecond}}
	down := errors.New("connection refused")
	tests := []struct {
		name     string
		relative string
		by       map[string]stats.Summary
		fail     map[string]error
		result   string
		reason   string
	}{
		{"healthy", "", map[string]stats.Summary{"v2": healthy, "v1": healthy}, nil, ResultPass, "healthy"},
		{"errors fail", "", map[string]stats.Summary{"v2": broken, "v1": healthy}, nil, ResultFail, "error_rate"},
		{"no data waits for traffic", "", map[string]stats.Summary{}, nil, ResultWaiting, "waiting for traffic: 0 of 20"},
		{"to unavailable waits", "", map[string]stats.Summary{"v2": broken}, map[string]error{"v2": down}, ResultWaiting, "waiting for metrics: connection refused"},
		{"from unavailable, absolute", "", map[string]stats.Summary{"v2": healthy}, map[string]error{"v1": down}, ResultPass, "healthy"},
		{"from unavailable, relative", "relative: true", map[string]stats.Summary{"v2": healthy}, map[string]error{"v1": down}, ResultWaiting, "waiting for metrics: connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse("test.yaml", []byte(yamlWith("10", "[10, 50]", "rollback", tt.relative)))
			if err != nil {
				t.Fatal(err)
			}
			now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			a := analyze(now, "users", cfg.Services["users"].Rollout, remoteStats{tt.by, tt.fail}, nil, now.Add(-time.Minute))
			if a.Result != tt.result || !strings.Contains(a.Reason, tt.reason) {
				t.Fatalf("analysis %s %q, want %s with %q", a.Result, a.Reason, tt.result, tt.reason)
			}
		})
	}
}

// splitStats answers "slow" remotely, blocking until release is closed,
// and every other service from a local table.
type splitStats struct {
	remoteStats
	entered, release chan struct{}
}

func (s *splitStats) Remote(service string) bool { return service == "slow" }

func (s *splitStats) FetchWindow(service, version string, w time.Duration, since time.Time) (stats.Summary, error) {
	if service == "slow" {
		select {
		case s.entered <- struct{}{}:
		default:
		}
		<-s.release
	}
	return s.remoteStats.FetchWindow(service, version, w, since)
}

// TestTickRemoteDoesNotDelayLocal: while a remote source hangs, a rollout
// analysed from Turnout's own stats is still rolled back; the remote one is
// settled when its fetch returns.
func TestTickRemoteDoesNotDelayLocal(t *testing.T) {
	text := `
upstreams: { u: { targets: [http://127.0.0.1:9001] } }
services:
  fast:
    match: { path_prefix: /fast }
    default: v1
    versions: { v1: { upstream: u }, v2: { upstream: u } }
    rollout: { from: v1, to: v2, weight: 10, analysis: { max_error_rate: 0.05 } }
  slow:
    match: { path_prefix: /slow }
    default: v1
    versions: { v1: { upstream: u }, v2: { upstream: u } }
    rollout: { from: v1, to: v2, weight: 10, analysis: { max_error_rate: 0.05 } }
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
	broken := stats.Summary{Totals: stats.Totals{Requests: 100, Errors: 50, ErrorRate: 0.5}}
	ss := &splitStats{remoteStats: remoteStats{by: map[string]stats.Summary{"v2": broken}},
		entered: make(chan struct{}, 1), release: make(chan struct{})}
	eng, err := New(st, ss, WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Sync(cfg); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	done := make(chan struct{})
	go func() { eng.Tick(); close(done) }()
	<-ss.entered
	if s, _ := eng.Status("fast"); s.State != RolledBack {
		t.Fatalf("fast is %s while the remote fetch hangs, want rolled_back", s.State)
	}
	if s, _ := eng.Status("slow"); s.State != Progressing || s.LastAnalysis != nil {
		t.Fatalf("slow is %s with analysis %+v before its fetch returned", s.State, s.LastAnalysis)
	}
	close(ss.release)
	<-done
	if s, _ := eng.Status("slow"); s.State != RolledBack {
		t.Fatalf("slow is %s after its fetch returned, want rolled_back", s.State)
	}
}
