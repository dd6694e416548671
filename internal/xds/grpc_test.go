package xds

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	xdsgrpc "google.golang.org/grpc/xds"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/route"
	"github.com/turnout-gw/turnout/internal/testutil/grpcecho"
)

// echoConfig is a gRPC service with two versions on real grpc-go servers,
// pinned by the x-api-version metadata, split by a rollout.
const echoConfig = `
state: memory
upstreams:
  echo-v1: { targets: ["http://%s"], protocol: h2c }
  echo-v2: { targets: ["http://%s"], protocol: h2c }
services:
  echo:
    match: { path_prefix: /grpc.testing.TestService }
    negotiate: { sources: [header] }
    default: v1
    versions:
      v1: { upstream: echo-v1 }
      v2: { upstream: echo-v2 }
    rollout: { from: v1, to: v2, weight: 10 }
`

// echoTable compiles echoConfig against two running backends.
func echoTable(t *testing.T) *route.Table {
	t.Helper()
	v1, v2 := grpcecho.Start(t, "v1"), grpcecho.Start(t, "v2")
	cfg, err := config.Parse("echo.yaml", []byte(fmt.Sprintf(echoConfig, v1.Addr, v2.Addr)))
	if err != nil {
		t.Fatal(err)
	}
	table, err := route.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return table
}

// startADS runs a Server on 127.0.0.1:0, stopped by t.Cleanup.
func startADS(t *testing.T, opts ...Option) *Server {
	t.Helper()
	s, err := New(append([]Option{WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// dialXDS connects a proxyless grpc-go client to xds:///service through
// the ADS server at addr (the bootstrap is given to this client only).
func dialXDS(t *testing.T, addr, service string) testpb.TestServiceClient {
	t.Helper()
	bootstrap := fmt.Sprintf(`{"xds_servers": [{"server_uri": %q, "channel_creds": [{"type": "insecure"}], "server_features": ["xds_v3"]}],
		"node": {"id": "grpc-%s"}}`, addr, strings.ReplaceAll(t.Name(), "/", "-"))
	rb, err := xdsgrpc.NewXDSResolverWithConfigForTesting([]byte(bootstrap))
	if err != nil {
		t.Fatal(err)
	}
	cc, err := grpc.NewClient("xds:///"+service, grpc.WithResolvers(rb), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return testpb.NewTestServiceClient(cc)
}

// served makes n unary calls (with the metadata pairs md) and counts the
// version that answered each; a failed call counts under "error: CODE".
func served(t *testing.T, c testpb.TestServiceClient, n int, md ...string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for i := 0; i < n; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if len(md) > 0 {
			ctx = metadata.AppendToOutgoingContext(ctx, md...)
		}
		resp, err := c.UnaryCall(ctx, &testpb.SimpleRequest{}, grpc.WaitForReady(true))
		cancel()
		if err != nil {
			out["error: "+strings.SplitN(err.Error(), ":", 3)[1]]++
			continue
		}
		out[resp.GetServerId()]++
	}
	return out
}

// waitFor calls until answered reports true for a batch of 20 calls, or
// fails the test after limit.
func waitFor(t *testing.T, c testpb.TestServiceClient, limit time.Duration, answered func(map[string]int) bool) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < limit {
		if answered(served(t, c, 20)) {
			return time.Since(start)
		}
	}
	t.Fatalf("the client did not see the change within %v", limit)
	return 0
}

// TestGRPCClientSplitPinsAndWeights: a real grpc-go xDS client against the
// ADS server and two real backends sees the 90/10 split over 2,000 calls
// within ±2 %, header pins at 100 %, an unknown version refused, and a
// weight change pushed to it.
func TestGRPCClientSplitPinsAndWeights(t *testing.T) {
	table := echoTable(t)
	s := startADS(t)
	if err := s.Update(context.Background(), table); err != nil {
		t.Fatal(err)
	}
	c := dialXDS(t, s.Addr(), "echo")

	got := served(t, c, 2000)
	if share := float64(got["v2"]) / 2000; got["v1"]+got["v2"] != 2000 || share < 0.08 || share > 0.12 {
		t.Fatalf("split at weight 10 over 2000 calls: %v (v2 share %.3f, want 0.10 ± 0.02)", got, float64(got["v2"])/2000)
	}
	t.Logf("weight 10: %v", got)
	for _, v := range []string{"v1", "v2", "2", "V2"} {
		want := "v" + strings.TrimLeft(v, "vV")
		if got := served(t, c, 100, "x-api-version", v); got[want] != 100 {
			t.Errorf("x-api-version %s: %v, want all %s", v, got, want)
		}
	}
	if got := served(t, c, 5, "x-api-version", "9"); got["v1"]+got["v2"] != 0 {
		t.Errorf("x-api-version 9 (no such version): %v, want every call refused", got)
	}

	for _, w := range []float64{100, 0} {
		next, err := table.WithWeight("echo", w)
		if err != nil {
			t.Fatal(err)
		}
		want := map[float64]string{100: "v2", 0: "v1"}[w]
		start := time.Now()
		if err := s.Update(context.Background(), next); err != nil {
			t.Fatal(err)
		}
		waitFor(t, c, 10*time.Second, func(m map[string]int) bool { return m[want] == 20 })
		acked, ok := s.Acked(GRPC, s.Version(GRPC))
		if !ok {
			t.Fatalf("weight %v: the client never acknowledged version %s", w, s.Version(GRPC))
		}
		t.Logf("weight %v: pushed and acknowledged in %v", w, acked.Sub(start))
	}
}

// TestUnchangedTableNoPush: updating with an equal table keeps the version
// (nothing is pushed); a weight change makes a new one.
func TestUnchangedTableNoPush(t *testing.T) {
	table := echoTable(t)
	s := startADS(t)
	for i := 0; i < 2; i++ {
		if err := s.Update(context.Background(), table); err != nil {
			t.Fatal(err)
		}
	}
	v := s.Version(GRPC)
	same, _ := table.WithWeight("echo", 10)
	if err := s.Update(context.Background(), same); err != nil {
		t.Fatal(err)
	}
	if s.Version(GRPC) != v {
		t.Fatalf("an equal table changed the version %s → %s", v, s.Version(GRPC))
	}
	other, _ := table.WithWeight("echo", 11)
	if err := s.Update(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	if s.Version(GRPC) == v {
		t.Fatal("a weight change kept the version")
	}
}
