package rollout

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/testutil/wait"
)

// TestHistoryKeepsTheNewestBounded: past HistoryLen evaluations the
// oldest go, and the list is newest first, limited on request.
func TestHistoryKeepsTheNewestBounded(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var h history
	for i := range HistoryLen + 50 {
		h.add(Evaluation{At: at.Add(time.Duration(i) * time.Second), Count: 1, Result: ResultPass, Decision: DecisionHold, Weight: 10})
	}
	all := h.list(0)
	if len(all) != HistoryLen || cap(h.recs) > 2*HistoryLen {
		t.Fatalf("kept %d (capacity %d), want %d", len(all), cap(h.recs), HistoryLen)
	}
	for i, ev := range all {
		if want := at.Add(time.Duration(HistoryLen+49-i) * time.Second); !ev.At.Equal(want) || ev.Decision != DecisionHold || ev.Result != ResultPass {
			t.Fatalf("evaluation %d at %v (%s, %s), want %v (newest first), pass, hold", i, ev.At, ev.Result, ev.Decision, want)
		}
	}
	if got := h.list(3); len(got) != 3 || !got[0].At.Equal(all[0].At) || !got[2].At.Equal(all[2].At) {
		t.Errorf("list(3) = %v, want the newest three", got)
	}
}

// TestHistoryCollapsesRepeatedWaits: waits with the same decision at the
// same weight are one entry with a count, the first time and the latest
// values; a wait at another weight, or a pass, is a new entry.
func TestHistoryCollapsesRepeatedWaits(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	wait := func(i int, w float64, reason string) Evaluation {
		s := at.Add(time.Duration(i) * time.Second)
		return Evaluation{At: s, Last: s, Count: 1, Result: ResultWaiting, Decision: DecisionWait, Weight: w, Reason: reason}
	}
	var h history
	for i := range 500 {
		h.add(wait(i, 10, "waiting for traffic"))
	}
	h.add(wait(500, 10, "waiting for traffic: 3 of 20"))
	h.add(wait(501, 25, "waiting for traffic"))
	h.add(Evaluation{At: at.Add(502 * time.Second), Count: 1, Result: ResultPass, Decision: DecisionHold, Weight: 25})
	h.add(wait(503, 25, "waiting for traffic"))
	got := h.list(0)
	if len(got) != 4 {
		t.Fatalf("%d entries, want 4: %+v", len(got), got)
	}
	first := got[3]
	if first.Count != 501 || !first.At.Equal(at) || !first.Last.Equal(at.Add(500*time.Second)) || first.Reason != "waiting for traffic: 3 of 20" {
		t.Errorf("collapsed wait = count %d, %v..%v, %q; want 501 from the first to the latest, the latest reason",
			first.Count, first.At, first.Last, first.Reason)
	}
	if got[2].Weight != 25 || got[1].Decision != DecisionHold || got[0].Count != 1 || got[0].Decision != DecisionWait {
		t.Errorf("entries after the collapsed wait: %+v", got[:3])
	}
}

// TestEngineRecordsDecisions: the engine's history says what each
// evaluation led to — waiting for traffic (one entry), holding while
// healthy, the step, the rollback — with the weights before and after.
func TestEngineRecordsDecisions(t *testing.T) {
	h := newHarness(t, yamlWith("10", "[10, 50, 100]", "rollback", ""))
	for range 5 {
		h.clock.Advance(time.Second)
		h.eng.Tick()
	}
	h.traffic("v2", 31, 5, 0, 10*time.Millisecond)
	h.traffic("v2", 5, 10, 10, 10*time.Millisecond)
	evs, err := h.eng.Analyses("users", 0)
	if err != nil || len(evs) < 4 {
		t.Fatalf("Analyses = %d, %v; want at least a wait, a hold, a step and a rollback", len(evs), err)
	}
	if n := evs[0]; n.Decision != DecisionRollback || n.Weight != 50 || n.NewWeight != 0 || n.To.Errors == 0 {
		t.Errorf("newest = %+v, want the rollback from 50 to 0 with its errors", n)
	}
	if o := evs[len(evs)-1]; o.Decision != DecisionWait || o.Count < 5 || o.Weight != 10 {
		t.Errorf("oldest = %+v, want the waits at 10 as one entry counted at least 5 times", o)
	}
	seen := map[string]bool{}
	for _, ev := range evs {
		seen[ev.Decision] = true
		if ev.Decision == DecisionStep && (ev.Weight != 10 || ev.NewWeight != 50) {
			t.Errorf("step = %+v, want 10 → 50", ev)
		}
	}
	if !seen[DecisionHold] || !seen[DecisionStep] {
		t.Errorf("decisions %v, want a hold and a step", seen)
	}
	if _, err := h.eng.Analyses("nope", 0); !errors.Is(err, ErrNoRollout) {
		t.Errorf("an unknown service: %v, want ErrNoRollout", err)
	}
}

// TestEngineAnalyzingWhileRunning: Analyzing (the API's leader field) is
// true exactly while the engine's loop runs.
func TestEngineAnalyzingWhileRunning(t *testing.T) {
	h := newHarness(t, yamlWith("10", "[10, 50, 100]", "rollback", ""))
	if h.eng.Analyzing() {
		t.Fatal("analyzing before Run")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); h.eng.Run(ctx, time.Hour) }()
	wait.For(t, 5*time.Second, "Analyzing while Run runs", h.eng.Analyzing)
	cancel()
	<-done
	if h.eng.Analyzing() {
		t.Error("analyzing after Run returned")
	}
}
