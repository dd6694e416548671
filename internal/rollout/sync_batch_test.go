package rollout

import (
	"fmt"
	"log/slog"
	"math"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/stats"
	"github.com/turnout-gw/turnout/internal/store"
	"github.com/turnout-gw/turnout/internal/testutil/testclock"
)

// countingStore is a real store that counts its writes.
type countingStore struct {
	store.Store
	puts, appends, batches atomic.Int64
}

func (c *countingStore) PutRollout(s store.RolloutState) error {
	c.puts.Add(1)
	return c.Store.PutRollout(s)
}

func (c *countingStore) Append(e store.Event) (store.Event, error) {
	c.appends.Add(1)
	return c.Store.Append(e)
}

func (c *countingStore) Write(b store.Batch) ([]store.Event, error) {
	c.batches.Add(1)
	return c.Store.Write(b)
}

func manyRollouts(n int, weight int) string {
	var b strings.Builder
	b.WriteString("upstreams:\n  u1: { targets: [http://127.0.0.1:9001] }\n  u2: { targets: [http://127.0.0.1:9002] }\nservices:\n")
	for i := range n {
		fmt.Fprintf(&b, "  s%d:\n    match: { path_prefix: /s%d }\n    default: v1\n    versions: { v1: { upstream: u1 }, v2: { upstream: u2 } }\n    rollout: { from: v1, to: v2, weight: %d }\n", i, i, weight)
	}
	return b.String()
}

// TestSyncWritesOneBatch: a reload that changes the weight of many
// rollouts is one store write (one fsync with a file-backed store), and
// every rollout state and event of it is stored.
func TestSyncWritesOneBatch(t *testing.T) {
	clock := testclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	mem, err := store.Open("memory", store.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	st := &countingStore{Store: mem}
	eng, err := New(st, stats.NewRegistry(clock.Now), WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	const n = 300
	for i, w := range []int{10, 20} {
		cfg, err := config.Parse("many.yaml", []byte(manyRollouts(n, w)))
		if err != nil {
			t.Fatal(err)
		}
		if err := eng.Sync(cfg); err != nil {
			t.Fatal(err)
		}
		if got := st.batches.Load(); got != int64(i+1) || st.puts.Load() != 0 || st.appends.Load() != 0 {
			t.Fatalf("after sync %d: %d batches, %d puts, %d appends; want %d batches only", i+1, got, st.puts.Load(), st.appends.Load(), i+1)
		}
		stored, _ := mem.Rollouts()
		if len(stored) != n || stored[n-1].Weight != float64(w) {
			t.Fatalf("after sync %d: %d stored rollouts, last %+v", i+1, len(stored), stored[len(stored)-1])
		}
	}
	evs, _ := mem.Events(store.EventQuery{Limit: store.MaxEventLimit})
	if len(evs) != 2*n || evs[0].Type != "rollout_started" || evs[2*n-1].Type != "weight_change" || !evs[0].At.Equal(clock.Now()) {
		t.Fatalf("%d events, first %+v, last %+v", len(evs), evs[0], evs[len(evs)-1])
	}
	for i, want := range []map[string]any{
		{"from": "v1", "to": "v2", "weight": 10.0, "state": "progressing"},
		{"from": "v1", "to": "v2", "weight": 20.0, "state": "progressing"},
	} {
		if ev := evs[i*n]; !reflect.DeepEqual(ev.Fields, want) {
			t.Errorf("event %s fields %v, want %v", ev.Type, ev.Fields, want)
		}
	}
	if ev := evs[n]; ev.Message != "weight 20 from the configuration file" {
		t.Errorf("weight change message %q", ev.Message)
	}
	if ev := evs[0]; ev.Message != "rollout v1 → v2 started at weight 10 (progressing)" {
		t.Errorf("start message %q", ev.Message)
	}
	// An unchanged configuration writes nothing.
	cfg, _ := config.Parse("many.yaml", []byte(manyRollouts(n, 20)))
	if err := eng.Sync(cfg); err != nil || st.batches.Load() != 2 {
		t.Fatalf("unchanged sync: %v, %d batches", err, st.batches.Load())
	}
}

// BenchmarkSyncReload: the engine's share of a reload that changes the
// weight of every one of 10,000 rollouts, with each kind of store.
func BenchmarkSyncReload(b *testing.B) {
	const n = 10_000
	cfgs := [2]*config.Config{}
	for i, w := range []int{10, 20} {
		cfg, err := config.Parse("many.yaml", []byte(manyRollouts(n, w)))
		if err != nil {
			b.Fatal(err)
		}
		cfgs[i] = cfg
	}
	for _, kind := range []string{"memory", "file"} {
		b.Run(kind, func(b *testing.B) {
			path := store.MemoryPath
			if kind == "file" {
				path = b.TempDir() + "/state.db"
			}
			st, err := store.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			eng, err := New(st, stats.NewRegistry(nil), WithLogger(slog.New(slog.DiscardHandler)))
			if err != nil {
				b.Fatal(err)
			}
			if err := eng.Sync(cfgs[0]); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := range b.N {
				if err := eng.Sync(cfgs[(i+1)%2]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestFormatWeight: the messages a reload writes for thousands of rollouts
// format weights as fmt's %.4g does.
func TestFormatWeight(t *testing.T) {
	for _, w := range []float64{0, 0.5, 1, 2.5, 10, 12.345, 33.33333, 99.99, 99.999, 100, 1e-7, 123456, -1,
		math.Inf(1), math.Inf(-1), math.NaN(), math.SmallestNonzeroFloat64, math.MaxFloat64} {
		if got, want := formatWeight(w), fmt.Sprintf("%.4g", w); got != want {
			t.Errorf("formatWeight(%v) = %q, want %q", w, got, want)
		}
	}
}
