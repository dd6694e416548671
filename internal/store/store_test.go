package store

import (
	"encoding/json"
	"errors"
	"math"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"
)

// fakeClock ticks one second per call, so stamped times are distinct and known.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

type impl struct {
	name string
	open func(t testing.TB, opts ...Option) Store
}

var impls = []impl{
	{"memory", func(t testing.TB, opts ...Option) Store { return mustOpen(t, MemoryPath, opts...) }},
	{"bolt", func(t testing.TB, opts ...Option) Store {
		return mustOpen(t, filepath.Join(t.TempDir(), "turnout.db"), opts...)
	}},
}

func mustOpen(t testing.TB, path string, opts ...Option) Store {
	t.Helper()
	s, err := Open(path, opts...)
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestStore runs the shared suite against every implementation through the Store interface.
func TestStore(t *testing.T) {
	suite := []struct {
		name string
		opts []Option
		run  func(t *testing.T, s Store, clk *fakeClock)
	}{
		{"rollouts", nil, testRollouts},
		{"rollout validation", nil, testRolloutValidation},
		{"append", nil, testAppend},
		{"event queries", nil, testEventQueries},
		{"event default limit", nil, testEventDefaultLimit},
		{"prune exact", []Option{WithMaxEvents(10)}, testPrune(10, 25)},
		{"prune with slack", []Option{WithMaxEvents(128)}, testPrune(128, 200)},
		{"write batch", nil, testWrite},
		{"write batch prune", []Option{WithMaxEvents(10)}, testWritePrune},
		{"blobs", nil, testBlobs},
		{"concurrent", nil, testConcurrent},
		{"closed", nil, testClosed},
	}
	for _, im := range impls {
		for _, tc := range suite {
			t.Run(im.name+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				clk := newClock()
				s := im.open(t, append([]Option{WithClock(clk.Now)}, tc.opts...)...)
				tc.run(t, s, clk)
			})
		}
	}
}

func sampleRollout(service string) RolloutState {
	t0 := time.Date(2026, 2, 1, 9, 30, 0, 0, time.UTC)
	return RolloutState{
		Service: service, From: "v1", To: "v2", SpecHash: "h1", State: StateProgressing,
		Weight: 12.5, Step: 1, WeightSource: SourceEngine, Reason: "step 1",
		StartedAt: t0, StepStartedAt: t0.Add(time.Minute), UpdatedAt: t0.Add(2 * time.Minute),
		LastAnalysis: json.RawMessage(`{"checks":[{"name":"errors","value":0.01,"ok":true}]}`),
	}
}

func testRollouts(t *testing.T, s Store, clk *fakeClock) {
	if _, ok, err := s.GetRollout("users"); ok || err != nil {
		t.Fatalf("GetRollout on empty store = ok %v, err %v", ok, err)
	}
	if list, err := s.Rollouts(); len(list) != 0 || err != nil {
		t.Fatalf("Rollouts on empty store = %v, %v", list, err)
	}
	for _, svc := range []string{"orders", "billing", "users"} {
		if err := s.PutRollout(sampleRollout(svc)); err != nil {
			t.Fatal(err)
		}
	}
	got, ok, err := s.GetRollout("users")
	if err != nil || !ok || !reflect.DeepEqual(got, sampleRollout("users")) {
		t.Fatalf("GetRollout = %+v, %v, %v; want %+v", got, ok, err, sampleRollout("users"))
	}

	// Overwrite; a zero UpdatedAt is stamped from the injected clock.
	upd := sampleRollout("users")
	upd.State, upd.Weight, upd.WeightSource, upd.UpdatedAt = StatePaused, 40, SourceAPI, time.Time{}
	if err := s.PutRollout(upd); err != nil {
		t.Fatal(err)
	}
	got, _, _ = s.GetRollout("users")
	if got.State != StatePaused || got.Weight != 40 || !got.UpdatedAt.Equal(clk.t) {
		t.Fatalf("after overwrite got %+v (clock %v)", got, clk.t)
	}

	list, err := s.Rollouts()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range list {
		names = append(names, r.Service)
	}
	if want := []string{"billing", "orders", "users"}; !slices.Equal(names, want) {
		t.Fatalf("Rollouts order = %v, want %v", names, want)
	}

	if err := s.DeleteRollout("orders"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRollout("orders"); err != nil {
		t.Fatalf("deleting a missing rollout: %v", err)
	}
	if _, ok, _ := s.GetRollout("orders"); ok {
		t.Fatal("deleted rollout still there")
	}
	if list, _ := s.Rollouts(); len(list) != 2 {
		t.Fatalf("Rollouts after delete = %d entries, want 2", len(list))
	}
}

func testRolloutValidation(t *testing.T, s Store, _ *fakeClock) {
	tests := []struct {
		name   string
		modify func(*RolloutState)
	}{
		{"empty service", func(r *RolloutState) { r.Service = "" }},
		{"unknown state", func(r *RolloutState) { r.State = "running" }},
		{"empty state", func(r *RolloutState) { r.State = "" }},
		{"unknown weight source", func(r *RolloutState) { r.WeightSource = "magic" }},
		{"weight above 100", func(r *RolloutState) { r.Weight = 100.5 }},
		{"negative weight", func(r *RolloutState) { r.Weight = -1 }},
		{"NaN weight", func(r *RolloutState) { r.Weight = math.NaN() }},
		{"step below -1", func(r *RolloutState) { r.Step = -2 }},
		{"invalid last_analysis", func(r *RolloutState) { r.LastAnalysis = json.RawMessage(`{`) }},
	}
	for _, tc := range tests {
		r := sampleRollout("users")
		tc.modify(&r)
		if err := s.PutRollout(r); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: PutRollout err = %v, want ErrInvalid", tc.name, err)
		}
	}
	if _, _, err := s.GetRollout(""); !errors.Is(err, ErrInvalid) {
		t.Errorf("GetRollout(\"\") err = %v, want ErrInvalid", err)
	}
	if list, _ := s.Rollouts(); len(list) != 0 {
		t.Errorf("rejected rollouts were stored: %v", list)
	}
}

func testBlobs(t *testing.T, s Store, _ *fakeClock) {
	if _, ok, err := s.GetBlob("diffs", "users"); ok || err != nil {
		t.Fatalf("GetBlob on empty store = %v, %v", ok, err)
	}
	if m, err := s.ListBlobs("diffs"); len(m) != 0 || err != nil {
		t.Fatalf("ListBlobs of an unknown bucket = %v, %v", m, err)
	}
	in := map[string][]byte{"users": []byte(`{"n":1}`), "orders": []byte("x"), "empty": {}}
	for k, v := range in {
		if err := s.PutBlob("diffs", k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutBlob("diffs.v2", "users", []byte("other bucket")); err != nil {
		t.Fatal(err)
	}
	v, ok, err := s.GetBlob("diffs", "users")
	if err != nil || !ok || string(v) != `{"n":1}` {
		t.Fatalf("GetBlob = %q, %v, %v", v, ok, err)
	}
	v[0] = 'X' // the caller owns returned slices
	if v, _, _ := s.GetBlob("diffs", "users"); string(v) != `{"n":1}` {
		t.Fatalf("mutating a returned blob changed the store: %q", v)
	}
	if v, ok, _ := s.GetBlob("diffs", "empty"); !ok || v == nil || len(v) != 0 {
		t.Fatalf("empty blob = %v (nil %v), ok %v; want a non-nil empty slice", v, v == nil, ok)
	}
	if err := s.PutBlob("diffs", "orders", []byte("y")); err != nil {
		t.Fatal(err)
	}
	in["orders"] = []byte("y")
	got, err := s.ListBlobs("diffs")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(in) {
		t.Fatalf("ListBlobs = %q, want %q", got, in)
	}
	for k, v := range in {
		if string(got[k]) != string(v) {
			t.Fatalf("ListBlobs[%q] = %q, want %q", k, got[k], v)
		}
	}
	for _, bucket := range []string{"", "Diffs", "a/b", "-x", "a b", string(make([]byte, 64))} {
		if err := s.PutBlob(bucket, "k", nil); !errors.Is(err, ErrInvalid) {
			t.Errorf("PutBlob(bucket %q) err = %v, want ErrInvalid", bucket, err)
		}
		if _, err := s.ListBlobs(bucket); !errors.Is(err, ErrInvalid) {
			t.Errorf("ListBlobs(%q) err = %v, want ErrInvalid", bucket, err)
		}
	}
	if err := s.PutBlob("diffs", "", nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty key err = %v, want ErrInvalid", err)
	}
	if err := s.PutBlob("diffs", "big", make([]byte, MaxBlobSize+1)); !errors.Is(err, ErrInvalid) {
		t.Errorf("oversized blob err = %v, want ErrInvalid", err)
	}
}

func testClosed(t *testing.T, s Store, _ *fakeClock) {
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	_, _, err1 := s.GetRollout("users")
	err2 := s.PutRollout(sampleRollout("users"))
	_, err3 := s.Append(Event{Type: "step"})
	_, err4 := s.Events(EventQuery{})
	err5 := s.PutBlob("b", "k", nil)
	_, err6 := s.Rollouts()
	for i, err := range []error{err1, err2, err3, err4, err5, err6} {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("call %d after Close: err = %v, want ErrClosed", i+1, err)
		}
	}
}
