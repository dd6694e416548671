package rollout

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/stats"
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
	healthy := stats.Summary{Requests: 100, Errors: 1, ErrorRate: 0.01, P95: 20 * time.Millisecond}
	broken := stats.Summary{Requests: 100, Errors: 50, ErrorRate: 0.5, P95: 20 * time.Millisecond}
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
