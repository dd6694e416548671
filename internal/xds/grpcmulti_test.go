package xds

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	testpb "google.golang.org/grpc/interop/grpc_testing"

	"github.com/turnout-gw/turnout/internal/route"
	"github.com/turnout-gw/turnout/internal/testutil/grpcecho"
	"github.com/turnout-gw/turnout/internal/testutil/xdsclient"
)

// readyWithin bounds the first call of a channel: the xDS resources of a
// target the server answers arrive in well under a second.
const readyWithin = 10 * time.Second

// twoServicesTable compiles xdsclient.TwoServicesYAML against four running
// backends (answering users-v1, users-v2, orders-v1, orders-v2) with users'
// rollout at weight.
func twoServicesTable(t *testing.T, weight int) *route.Table {
	t.Helper()
	pairs := []string{"{{USERS_WEIGHT}}", strconv.Itoa(weight)}
	for _, v := range []string{"users-v1", "users-v2", "orders-v1", "orders-v2"} {
		pairs = append(pairs, "{{"+strings.ToUpper(strings.ReplaceAll(v, "-", "_"))+"}}", grpcecho.Start(t, v).Addr)
	}
	return compileYAML(t, "two.yaml", "state: memory\n"+strings.NewReplacer(pairs...).Replace(xdsclient.TwoServicesYAML))
}

// servesBoth checks that c, a channel to xds:///service, answers within
// readyWithin and that its pins reach each of service's versions.
func servesBoth(t *testing.T, c testpb.TestServiceClient, service string) {
	t.Helper()
	if err := xdsclient.Ready(c, readyWithin); err != nil {
		t.Fatalf("xds:///%s: no answer within %v (its xDS resources never came?): %v", service, readyWithin, err)
	}
	for _, v := range []string{"v1", "v2"} {
		if got := xdsclient.Served(t, c, 20, "x-api-version", v); got[service+"-"+v] != 20 {
			t.Errorf("xds:///%s pinned to %s: %v, want all 20 by %s-%s", service, v, got, service, v)
		}
	}
}

// TestGRPCClientsTwoServices: with two services exported to proxyless
// gRPC, a client dialing only one of them (and so subscribing to that
// listener and its clusters only, a subset of the gRPC snapshot) gets its
// resources and reaches both versions of its service; so does each of two
// channels to both services in one process; a weight change is pushed to
// a channel of each.
func TestGRPCClientsTwoServices(t *testing.T) {
	table := twoServicesTable(t, 0)
	s := startADS(t)
	if err := s.Update(context.Background(), table); err != nil {
		t.Fatal(err)
	}
	for _, service := range []string{"users", "orders"} {
		t.Run("alone/"+service, func(t *testing.T) { // its own node id, the only channel
			servesBoth(t, xdsclient.Dial(t, s.Addr(), service), service)
		})
	}

	// Two channels in one process, with one bootstrap (one node id).
	users, orders := xdsclient.Dial(t, s.Addr(), "users"), xdsclient.Dial(t, s.Addr(), "orders")
	servesBoth(t, users, "users")
	servesBoth(t, orders, "orders")

	next, err := table.WithWeight("users", 100)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(context.Background(), next); err != nil {
		t.Fatal(err)
	}
	xdsclient.WaitFor(t, users, readyWithin, func(m map[string]int) bool { return m["users-v2"] == 20 })
	if got := xdsclient.Served(t, orders, 20); got["orders-v1"] != 20 {
		t.Errorf("orders after users' weight change: %v, want all 20 by orders-v1", got)
	}
}
