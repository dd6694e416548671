package xds

import (
	"context"
	"testing"

	"github.com/turnout-gw/turnout/internal/testutil/xdsclient"
)

// TestGRPCClientInjectsFaults: a version's fault block reaches a real
// grpc-go xDS client through the fault filter: calls pinned to v2 fail at
// the configured share, calls to v1 never do.
func TestGRPCClientInjectsFaults(t *testing.T) {
	table := echoTable(t, "v2: { upstream: echo-v2 }", "v2: { upstream: echo-v2, fault: { abort: { percent: 30, status: 503 } } }")
	if table.Service("echo").Version("v2").Fault == nil {
		t.Fatal("the fault block did not compile")
	}
	s := startADS(t)
	if err := s.Update(context.Background(), table); err != nil {
		t.Fatal(err)
	}
	c := xdsclient.Dial(t, s.Addr(), "echo")
	if got := xdsclient.Served(t, c, 200, "x-api-version", "v1"); got["v1"] != 200 {
		t.Fatalf("calls pinned to v1: %v, want all served", got)
	}
	const n = 2000
	got := xdsclient.Served(t, c, n, "x-api-version", "v2")
	failed := n - got["v2"]
	// Random draws: 2,000 calls at 30 % have a standard deviation of about
	// 1 point; ± 4.5 is 4.4 of them.
	if share := float64(failed) / n; share < 0.255 || share > 0.345 {
		t.Fatalf("calls pinned to v2: %v; %d failed (%.3f), want 0.30 ± 0.045", got, failed, share)
	}
	t.Logf("v2 with a 30%% abort fault over %d calls: %v", n, got)
}
