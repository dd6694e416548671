package telemetry_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/turnout-gw/turnout/internal/rollout"
	"github.com/turnout-gw/turnout/internal/telemetry"
)

// TestConfigureFollowsBlocksComingAndGoing: a service that loses its
// rollout and mirror loses their series, gets them back when they come
// back, and mirror series counted without a configured mirror go at the
// next reload; a weight gauge follows the statuses.
func TestConfigureFollowsBlocksComingAndGoing(t *testing.T) {
	m := telemetry.NewMetrics()
	url := serveMetrics(t, m)
	with, without := loadConfig(t, twoServices), loadConfig(t, strings.Replace(strings.Replace(twoServices,
		"    rollout: { from: v1, to: v2, weight: 25 }\n", "", 1), "    mirror: { to: v2 }\n", "", 1))
	users := []rollout.Status{{Service: "users", State: rollout.Progressing, Weight: 25}}
	rolloutSeries := [][]string{
		{"turnout_rollout_weight", "service=users"},
		{"turnout_rollbacks_total", "service=users"},
		{"turnout_mirror_compared_total", "service=users", "result=match"},
	}
	for round := 0; round < 2; round++ {
		m.Configure(with, users)
		s := scrapeURL(t, url)
		s.expect(t, 25, "turnout_rollout_weight", "service=users")
		s.expect(t, 0, "turnout_rollbacks_total", "service=users")
		s.expect(t, 0, "turnout_mirror_compared_total", "service=users", "result=diff")
		users[0].Weight = 40
		m.Configure(with, users)
		scrapeURL(t, url).expect(t, 40, "turnout_rollout_weight", "service=users")
		users[0].Weight = 25

		m.Configure(without, nil)
		s = scrapeURL(t, url)
		for _, gone := range rolloutSeries {
			if s.find(gone[0], gone[1:]...) != nil {
				t.Errorf("round %d: %v survived removing the block", round, gone)
			}
		}
		m.ObserveMirror("orders", telemetry.MirrorMatch) // no mirror configured
		scrapeURL(t, url).expect(t, 1, "turnout_mirror_compared_total", "service=orders", "result=match")
		m.Configure(without, nil)
		if scrapeURL(t, url).find("turnout_mirror_compared_total", "service=orders", "result=match") != nil {
			t.Errorf("round %d: a mirror series of a service without a mirror survived a reload", round)
		}
	}
}

// BenchmarkConfigure is the metrics' share of a reload of 10,000 services
// with rollouts, every one of them at a new weight.
func BenchmarkConfigure(b *testing.B) {
	var text strings.Builder
	text.WriteString("upstreams:\n  u: { targets: [http://127.0.0.1:9001] }\nservices:\n")
	for i := 0; i < 10000; i++ {
		fmt.Fprintf(&text, "  s%d: { match: { path_prefix: /s%d }, default: v1, versions: { v1: { upstream: u }, v2: { upstream: u } }, rollout: { from: v1, to: v2, weight: 10 } }\n", i, i)
	}
	cfg := loadConfig(b, text.String())
	statuses := make([]rollout.Status, 0, len(cfg.Services))
	for _, name := range cfg.ServiceNames() {
		statuses = append(statuses, rollout.Status{Service: name, State: rollout.Progressing, Weight: 10})
	}
	m := telemetry.NewMetrics()
	m.Configure(cfg, statuses)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := range statuses {
			statuses[j].Weight = float64(11 + i%50)
			m.ObserveRollout(statuses[j]) // what the engine's Sync tells
		}
		m.Configure(cfg, statuses)
	}
}
