package store

import (
	"slices"
	"testing"
	"time"
)

// testWrite: a batch puts its rollouts and appends its events in order,
// continuing the event sequence, filling zero times from the clock and
// pruning beyond the maximum; a bad record fails the batch with nothing
// written.
func testWrite(t *testing.T, s Store, _ *fakeClock) {
	if _, err := s.Append(Event{Service: "a", Type: "config_reload"}); err != nil {
		t.Fatal(err)
	}
	r1, r2 := sampleRollout("a"), sampleRollout("b")
	r2.UpdatedAt = time.Time{}
	r2.Weight = 40
	evs, err := s.Write(Batch{
		Rollouts: []RolloutState{r1, r2},
		Events:   []Event{{Service: "a", Type: "weight_change"}, {Service: "b", Type: "weight_change", Message: "w 40"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].Seq != 2 || evs[1].Seq != 3 || evs[1].At.IsZero() || evs[1].At.Before(evs[0].At) {
		t.Fatalf("stored events %+v", evs)
	}
	got, ok, err := s.GetRollout("b")
	if err != nil || !ok || got.Weight != 40 || got.UpdatedAt.IsZero() {
		t.Fatalf("GetRollout(b) = %+v %v %v", got, ok, err)
	}
	all, _ := s.Events(EventQuery{})
	if want := []uint64{1, 2, 3}; !slices.Equal(seqs(all), want) || all[2].Message != "w 40" {
		t.Fatalf("events %v, want %v", seqs(all), want)
	}
	// A bad rollout (no service) fails the whole batch.
	if _, err := s.Write(Batch{Rollouts: []RolloutState{sampleRollout("c"), {}}, Events: []Event{{Type: "x"}}}); err == nil {
		t.Fatal("a batch with an invalid rollout was accepted")
	}
	if _, ok, _ := s.GetRollout("c"); ok {
		t.Fatal("part of a failed batch was written")
	}
	if all, _ := s.Events(EventQuery{}); len(all) != 3 {
		t.Fatalf("events after a failed batch: %v", seqs(all))
	}
	if evs, err := s.Write(Batch{}); err != nil || evs != nil {
		t.Fatalf("empty batch: %v %v", evs, err)
	}
}

// testWritePrune: a batch larger than the event maximum keeps the newest.
func testWritePrune(t *testing.T, s Store, _ *fakeClock) {
	var b Batch
	for range 25 {
		b.Events = append(b.Events, Event{Service: "a", Type: "step"})
	}
	if _, err := s.Write(b); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Events(EventQuery{Limit: MaxEventLimit})
	if want := span(16, 25, 1); !slices.Equal(seqs(got), want) {
		t.Fatalf("events %v, want %v", seqs(got), want)
	}
}
