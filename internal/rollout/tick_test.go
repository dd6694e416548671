package rollout

import (
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/stats"
	"github.com/turnout-gw/turnout/internal/store"
	"github.com/turnout-gw/turnout/internal/testutil/testclock"
)

// blockingStats holds every analysis until release is closed.
type blockingStats struct{ entered, release chan struct{} }

func (b *blockingStats) VersionWindow(string, string, time.Duration, time.Time) stats.Summary {
	select {
	case b.entered <- struct{}{}:
	default:
	}
	<-b.release
	return stats.Summary{}
}

// TestTickAnalysesWithoutTheLock: while Tick analyses, Status and a reload's
// Sync go ahead; an analysis of a rollout reloaded meanwhile is not applied,
// and the rollout is analysed again at the next tick.
func TestTickAnalysesWithoutTheLock(t *testing.T) {
	clock := testclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	st, err := store.Open("memory", store.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	bs := &blockingStats{entered: make(chan struct{}, 1), release: make(chan struct{})}
	eng, err := New(st, bs, WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	load := func(weight string) *config.Config {
		cfg, err := config.Parse("test.yaml", []byte(yamlWith(weight, "[]", "rollback", "")))
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	if err := eng.Sync(load("10")); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	done := make(chan struct{})
	go func() { eng.Tick(); close(done) }()
	<-bs.entered
	within := func(what string, f func()) {
		t.Helper()
		ok := make(chan struct{})
		go func() { f(); close(ok) }()
		select {
		case <-ok:
		case <-time.After(5 * time.Second):
			t.Fatalf("%s waited for the analysis", what)
		}
	}
	within("Status", func() { _, _ = eng.Status("users") })
	within("Sync", func() { _ = eng.Sync(load("20")) })
	close(bs.release)
	<-done
	if s, _ := eng.Status("users"); s.LastAnalysis != nil || s.Weight != 20 {
		t.Fatalf("after a reload during the tick: analysis %v, weight %v; want none, 20", s.LastAnalysis, s.Weight)
	}
	eng.Tick() // same instant: the skipped rollout is due again
	if s, _ := eng.Status("users"); s.LastAnalysis == nil {
		t.Fatal("the rollout skipped by the last tick was not analysed at the next one")
	}
}
