package store

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"
)

func testAppend(t *testing.T, s Store, clk *fakeClock) {
	at := time.Date(2025, 12, 24, 18, 0, 0, 0, time.UTC)
	e1, err := s.Append(Event{Service: "users", Type: "weight_change", Actor: "api:ci", Message: "weight 25",
		Fields: map[string]any{"from": 10, "to": 25, "check": "errors"}})
	if err != nil {
		t.Fatal(err)
	}
	if e1.Seq != 1 || !e1.At.Equal(clk.t) {
		t.Fatalf("first event Seq %d At %v, want 1 and clock %v", e1.Seq, e1.At, clk.t)
	}
	e2, err := s.Append(Event{At: at, Type: "config_reload", Actor: "config"})
	if err != nil || e2.Seq != 2 || !e2.At.Equal(at) {
		t.Fatalf("second event = %+v, %v; want Seq 2 with the given At", e2, err)
	}
	if _, err := s.Append(Event{Service: "users"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Append without type err = %v, want ErrInvalid", err)
	}
	e3, _ := s.Append(Event{Type: "pause", Actor: "engine"})
	if e3.Seq != 3 {
		t.Fatalf("Seq after a rejected append = %d, want 3 (no gaps)", e3.Seq)
	}
	got, err := s.Events(EventQuery{})
	if err != nil {
		t.Fatal(err)
	}
	want := []Event{
		{Seq: 1, At: e1.At, Service: "users", Type: "weight_change", Actor: "api:ci", Message: "weight 25",
			Fields: map[string]any{"from": 10.0, "to": 25.0, "check": "errors"}}, // JSON numbers
		{Seq: 2, At: at, Type: "config_reload", Actor: "config"},
		{Seq: 3, At: e3.At, Type: "pause", Actor: "engine"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Events =\n%+v\nwant\n%+v", got, want)
	}
}

func seqs(es []Event) []uint64 {
	var out []uint64
	for _, e := range es {
		out = append(out, e.Seq)
	}
	return out
}

func span(from, to uint64, step uint64) []uint64 {
	var out []uint64
	for i := from; i <= to; i += step {
		out = append(out, i)
	}
	return out
}

func testEventQueries(t *testing.T, s Store, _ *fakeClock) {
	// Seq 1..30: odd ones are "users", even ones "orders"; every 10th has no service.
	for i := 1; i <= 30; i++ {
		svc := map[bool]string{true: "users", false: "orders"}[i%2 == 1]
		if i%10 == 0 {
			svc = ""
		}
		if _, err := s.Append(Event{Service: svc, Type: "step", Actor: "engine", Message: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		q    EventQuery
		want []uint64
	}{
		{"all", EventQuery{}, span(1, 30, 1)},
		{"limit keeps the last N ascending", EventQuery{Limit: 5}, span(26, 30, 1)},
		{"after seq", EventQuery{AfterSeq: 27}, []uint64{28, 29, 30}},
		{"after the last seq", EventQuery{AfterSeq: 30}, nil},
		{"after beyond the last seq", EventQuery{AfterSeq: 99}, nil},
		{"after seq with limit", EventQuery{AfterSeq: 20, Limit: 3}, []uint64{28, 29, 30}},
		{"service", EventQuery{Service: "users"}, span(1, 29, 2)},
		{"service with limit", EventQuery{Service: "users", Limit: 3}, []uint64{25, 27, 29}},
		{"service after seq", EventQuery{Service: "orders", AfterSeq: 22}, []uint64{24, 26, 28}},
		{"service after seq limit", EventQuery{Service: "orders", AfterSeq: 2, Limit: 2}, []uint64{26, 28}},
		{"unknown service", EventQuery{Service: "nope"}, nil},
		{"limit above the count", EventQuery{Limit: 1000}, span(1, 30, 1)},
	}
	for _, tc := range tests {
		got, err := s.Events(tc.q)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !slices.Equal(seqs(got), tc.want) {
			t.Errorf("%s: Events(%+v) seqs = %v, want %v", tc.name, tc.q, seqs(got), tc.want)
		}
		for _, e := range got {
			if e.Message != fmt.Sprint(e.Seq) {
				t.Errorf("%s: event %d carries message %q", tc.name, e.Seq, e.Message)
			}
		}
	}
	if _, err := s.Events(EventQuery{Limit: -1}); !errors.Is(err, ErrInvalid) {
		t.Errorf("negative limit err = %v, want ErrInvalid", err)
	}
}

func testEventDefaultLimit(t *testing.T, s Store, _ *fakeClock) {
	for range DefaultEventLimit + 50 {
		if _, err := s.Append(Event{Type: "step"}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Events(EventQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if want := span(51, DefaultEventLimit+50, 1); !slices.Equal(seqs(got), want) {
		t.Fatalf("default limit returned %d events %v..., want the last %d", len(got), seqs(got)[:3], DefaultEventLimit)
	}
}

func TestEventLimit(t *testing.T) {
	for in, want := range map[int]int{0: DefaultEventLimit, 1: 1, 500: 500, MaxEventLimit: MaxEventLimit, MaxEventLimit + 1: MaxEventLimit, math.MaxInt: MaxEventLimit} {
		if got, err := eventLimit(in); got != want || err != nil {
			t.Errorf("eventLimit(%d) = %d, %v; want %d", in, got, err, want)
		}
	}
}

func testPrune(limit, n int) func(t *testing.T, s Store, _ *fakeClock) {
	return func(t *testing.T, s Store, _ *fakeClock) {
		for i := 1; i <= n; i++ {
			svc := "a"
			if i%3 == 0 {
				svc = "b"
			}
			if _, err := s.Append(Event{Service: svc, Type: "step"}); err != nil {
				t.Fatal(err)
			}
			got, err := s.Events(EventQuery{Limit: MaxEventLimit})
			if err != nil {
				t.Fatal(err)
			}
			lo := uint64(max(1, i-limit+1))
			if want := span(lo, uint64(i), 1); !slices.Equal(seqs(got), want) {
				t.Fatalf("after %d appends (max %d): Events = %v, want %d..%d", i, limit, seqs(got), lo, i)
			}
		}
		got, _ := s.Events(EventQuery{Service: "b", Limit: MaxEventLimit})
		if len(got) == 0 || got[0].Seq <= uint64(n-limit) {
			t.Fatalf("service query returned pruned events: %v", seqs(got))
		}
		e, _ := s.Append(Event{Type: "step"})
		if e.Seq != uint64(n+1) {
			t.Fatalf("Seq after pruning = %d, want %d", e.Seq, n+1)
		}
	}
}

func testConcurrent(t *testing.T, s Store, _ *fakeClock) {
	const workers, each = 8, 15
	var wg sync.WaitGroup
	seen := make(chan uint64, workers*each)
	for w := range workers {
		wg.Go(func() {
			svc := fmt.Sprintf("svc%d", w)
			for i := range each {
				e, err := s.Append(Event{Service: svc, Type: "step"})
				if err != nil {
					t.Error(err)
					return
				}
				seen <- e.Seq
				r := sampleRollout(svc)
				r.Step = i
				if err := s.PutRollout(r); err != nil {
					t.Error(err)
				}
				if _, err := s.Events(EventQuery{Service: svc, Limit: 5}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	close(seen)
	var all []uint64
	for seq := range seen {
		all = append(all, seq)
	}
	slices.Sort(all)
	if want := span(1, workers*each, 1); !slices.Equal(all, want) {
		t.Fatalf("concurrent Appends assigned %v, want 1..%d each once", all, workers*each)
	}
	if list, _ := s.Rollouts(); len(list) != workers {
		t.Fatalf("%d rollouts, want %d", len(list), workers)
	}
}
