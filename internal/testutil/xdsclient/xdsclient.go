// Package xdsclient is a test-only proxyless gRPC client: grpc-go's own xDS
// resolver, bootstrapped for one client at a time (no GRPC_XDS_BOOTSTRAP),
// calling the grpc.testing.TestService that internal/testutil/grpcecho
// serves. Import it only from tests.
package xdsclient

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	xdsgrpc "google.golang.org/grpc/xds" // registers the xDS resolver and balancers
)

// EchoYAML is the configuration of a gRPC service with two versions on
// grpcecho servers ({{V1}} and {{V2}} are their host:port), pinned by the
// x-api-version metadata and split 90/10 by a rollout whose analysis block
// is {{ANALYSIS}}.
const EchoYAML = `
upstreams:
  echo-v1: { targets: ["http://{{V1}}"], protocol: h2c }
  echo-v2: { targets: ["http://{{V2}}"], protocol: h2c }
services:
  echo:
    match: { path_prefix: /grpc.testing.TestService }
    negotiate: { sources: [header] }
    default: v1
    versions:
      v1: { upstream: echo-v1 }
      v2: { upstream: echo-v2 }
    rollout: { from: v1, to: v2, weight: 10, analysis: {{ANALYSIS}} }
`

// Dial connects to xds:///service through the ADS server at addr, as the
// node "grpc-<test name>". The connection is closed by t.Cleanup.
func Dial(t testing.TB, addr, service string) testpb.TestServiceClient {
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

// Served makes n unary calls (with the metadata pairs md) and counts the
// version that answered each (grpcecho answers with its version); a failed
// call counts under "error: CODE".
func Served(t testing.TB, c testpb.TestServiceClient, n int, md ...string) map[string]int {
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

// WaitFor makes batches of 20 calls until done reports true for one, and
// returns how long that took; it fails the test after limit.
func WaitFor(t testing.TB, c testpb.TestServiceClient, limit time.Duration, done func(map[string]int) bool) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < limit {
		if done(Served(t, c, 20)) {
			return time.Since(start)
		}
	}
	t.Fatalf("the client did not see the change within %v", limit)
	return 0
}

// ADS opens a raw aggregated discovery client to addr, for tests that speak
// the protocol by hand as Envoy does. The connection is closed by
// t.Cleanup.
func ADS(t testing.TB, addr string) discoveryv3.AggregatedDiscoveryServiceClient {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return discoveryv3.NewAggregatedDiscoveryServiceClient(cc)
}

// Quiet reports whether recv (a stream's Recv) brings nothing within d.
// The receiving goroutine ends when the stream does.
func Quiet(recv func() error, d time.Duration) bool {
	got := make(chan struct{})
	go func() {
		if recv() == nil {
			close(got)
		}
	}()
	select {
	case <-got:
		return false
	case <-time.After(d):
		return true
	}
}

// TwoServicesYAML is the configuration of two gRPC services, users and
// orders, each with two versions on grpcecho servers ({{USERS_V1}},
// {{USERS_V2}}, {{ORDERS_V1}}, {{ORDERS_V2}} are their host:port), pinned
// by the x-api-version metadata. users splits by a rollout at weight
// {{USERS_WEIGHT}}; orders answers v1 unless pinned. Both match the
// TestService path; a proxyless client picks one by its target
// (xds:///users or xds:///orders), each service being its own listener.
const TwoServicesYAML = `
upstreams:
  users-v1: { targets: ["http://{{USERS_V1}}"], protocol: h2c }
  users-v2: { targets: ["http://{{USERS_V2}}"], protocol: h2c }
  orders-v1: { targets: ["http://{{ORDERS_V1}}"], protocol: h2c }
  orders-v2: { targets: ["http://{{ORDERS_V2}}"], protocol: h2c }
services:
  users:
    match: { hosts: [users.example], path_prefix: /grpc.testing.TestService }
    negotiate: { sources: [header] }
    default: v1
    versions:
      v1: { upstream: users-v1 }
      v2: { upstream: users-v2 }
    rollout: { from: v1, to: v2, weight: {{USERS_WEIGHT}} }
  orders:
    match: { hosts: [orders.example], path_prefix: /grpc.testing.TestService }
    negotiate: { sources: [header] }
    default: v1
    versions:
      v1: { upstream: orders-v1 }
      v2: { upstream: orders-v2 }
`

// Ready makes one call that waits for the channel to be ready, bounded by
// limit, and returns its error: a client whose xDS resources never come
// fails here within limit instead of blocking.
func Ready(c testpb.TestServiceClient, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	_, err := c.UnaryCall(ctx, &testpb.SimpleRequest{}, grpc.WaitForReady(true))
	return err
}
