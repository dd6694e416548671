package cluster

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/rollout"
	"github.com/turnout-gw/turnout/internal/stats"
	"github.com/turnout-gw/turnout/internal/store"
	"github.com/turnout-gw/turnout/internal/testutil/etcdtest"
)

// manyServices is a configuration of n services, each with a rollout at
// weight.
func manyServices(t testing.TB, n, weight int) *config.Config {
	t.Helper()
	var b strings.Builder
	b.WriteString("upstreams:\n  u1: { targets: [http://127.0.0.1:9001] }\n  u2: { targets: [http://127.0.0.1:9002] }\nservices:\n")
	for i := range n {
		fmt.Fprintf(&b, "  s%04d:\n    match: { path_prefix: /s%d }\n    default: v1\n    versions: { v1: { upstream: u1 }, v2: { upstream: u2 } }\n    rollout: { from: v1, to: v2, weight: %d }\n", i, i, weight)
	}
	cfg, err := config.Parse("many.yaml", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestLoadOfManyRolloutsIsBatched: a member loading 1,000 rollouts into an
// empty fleet writes them in transactions of at most etcd's default
// 128 operations (16 of them: a state and its event each), not one per
// rollout; every state and every event is in etcd. A reload that moves
// every weight is batched the same way.
func TestLoadOfManyRolloutsIsBatched(t *testing.T) {
	const services = 1000
	srv := etcdtest.Start(t)
	b := open(t, srv)
	local, err := store.Open(store.MemoryPath)
	if err != nil {
		t.Fatal(err)
	}
	st := NewStore(b, local, "a", nil)
	t.Cleanup(func() { _ = st.Close() })
	eng, err := rollout.New(st, stats.NewRegistry(time.Now), rollout.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Load(ctx(t)); err != nil {
		t.Fatal(err)
	}
	perTxn := (MaxTxnOps - txnOverhead) / 2
	want := uint64((services + perTxn - 1) / perTxn)
	for i, weight := range []int{10, 20} {
		before, began := b.Txns(), time.Now()
		if err := eng.Sync(manyServices(t, services, weight)); err != nil {
			t.Fatalf("load %d: %v", i, err)
		}
		txns := b.Txns() - before
		t.Logf("load %d of %d rollouts: %d transactions, %v", i, services, txns, time.Since(began))
		if txns != want {
			t.Fatalf("load %d of %d rollouts: %d transactions, want %d", i, services, txns, want)
		}
		list, _, err := b.Rollouts(ctx(t))
		if err != nil || len(list) != services {
			t.Fatalf("etcd holds %d rollouts (%v), want %d", len(list), err, services)
		}
		for _, v := range list {
			if v.Weight != float64(weight) {
				t.Fatalf("%s at weight %v in etcd, want %d", v.Service, v.Weight, weight)
			}
		}
		evs, err := b.Events(ctx(t), store.EventQuery{Limit: store.MaxEventLimit})
		if err != nil || len(evs) != services*(i+1) {
			t.Fatalf("etcd holds %d events (%v), want %d", len(evs), err, services*(i+1))
		}
	}
}
