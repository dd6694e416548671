package xds

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"

	"github.com/turnout-gw/turnout/internal/testutil/wait"
	"github.com/turnout-gw/turnout/internal/testutil/xdsclient"
)

// TestNACKHeldNoStorm: a snapshot the gRPC client rejects (a cluster with an
// lb_policy gRPC does not know, which Envoy's own validation accepts) is
// rejected once, recorded once with the client's message, and not sent
// again; the next good snapshot applies.
func TestNACKHeldNoStorm(t *testing.T) {
	table := echoTable(t)
	var broken atomic.Bool
	var mu sync.Mutex
	var nacks []Nack
	s := startADS(t,
		WithResourceHook(func(k Kind, r *Resources) {
			if k == GRPC && broken.Load() {
				for _, c := range r.Clusters {
					if c.Name == "echo-v2" {
						c.LbPolicy = clusterv3.Cluster_MAGLEV
					}
				}
			}
		}),
		WithNackObserver(func(n Nack) { mu.Lock(); nacks = append(nacks, n); mu.Unlock() }))
	if err := s.Update(context.Background(), table); err != nil {
		t.Fatal(err)
	}
	c := xdsclient.Dial(t, s.Addr(), "echo")
	if got := xdsclient.Served(t, c, 20); got["v1"]+got["v2"] != 20 {
		t.Fatalf("before the bad snapshot: %v", got)
	}

	broken.Store(true)
	bad, _ := table.WithWeight("echo", 50)
	if err := s.Update(context.Background(), bad); err != nil {
		t.Fatal(err)
	}
	badVersion := s.Version(GRPC)
	wait.For(t, 10*time.Second, "the client to reject the bad snapshot", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(nacks) > 0
	})
	mu.Lock()
	nk := nacks[0]
	mu.Unlock()
	if nk.Version != badVersion || nk.TypeURL != resourcev3.ClusterType || nk.Kind != GRPC || !strings.Contains(nk.Message, "MAGLEV") {
		t.Errorf("rejection %+v: want version %s of %s with the client's message naming MAGLEV", nk, badVersion, resourcev3.ClusterType)
	}

	broken.Store(false)
	good, _ := table.WithWeight("echo", 0)
	if err := s.Update(context.Background(), good); err != nil {
		t.Fatal(err)
	}
	xdsclient.WaitFor(t, c, 10*time.Second, func(m map[string]int) bool { return m["v1"] == 20 })
	// A resent rejected version is rejected again: one rejection from the
	// bad snapshot until the good one is applied means it was held, not
	// resent.
	mu.Lock()
	if len(nacks) != 1 {
		t.Errorf("%d rejections recorded before the good snapshot was applied, want 1: the rejected version was resent", len(nacks))
	}
	mu.Unlock()
	wait.For(t, 10*time.Second, "the good snapshot after the rejection acknowledged", func() bool {
		_, ok := s.Acked(GRPC, s.Version(GRPC))
		return ok
	})
}
