package xds

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

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

// sotw is one state-of-the-world ADS stream spoken by hand.
type sotw struct {
	t      *testing.T
	stream discoveryv3.AggregatedDiscoveryService_StreamAggregatedResourcesClient
	node   *corev3.Node
	last   map[string]*discoveryv3.DiscoveryResponse // type URL -> last response
}

// ask sends a request for names of typ, acknowledging the last response of
// that type, as a client that changes its subscription does.
func (c *sotw) ask(typ string, names ...string) {
	c.t.Helper()
	req := &discoveryv3.DiscoveryRequest{Node: c.node, TypeUrl: typ, ResourceNames: names}
	if prev := c.last[typ]; prev != nil {
		req.VersionInfo, req.ResponseNonce = prev.GetVersionInfo(), prev.GetNonce()
	}
	if err := c.stream.Send(req); err != nil {
		c.t.Fatal(err)
	}
}

// got receives the next response to what (bounded by the stream's
// deadline) and returns its type and the names of its resources, sorted.
func (c *sotw) got(what string) (string, []string) {
	c.t.Helper()
	resp, err := c.stream.Recv()
	if err != nil {
		c.t.Fatalf("%s: no response: %v", what, err)
	}
	c.last[resp.GetTypeUrl()] = resp
	var names []string
	for _, a := range resp.GetResources() {
		names = append(names, resourceName(c.t, resp.GetTypeUrl(), a))
	}
	sort.Strings(names)
	return resp.GetTypeUrl(), names
}

// resourceName is the name of a listener, cluster or load assignment.
func resourceName(t *testing.T, typ string, a *anypb.Any) string {
	t.Helper()
	var m proto.Message
	switch typ {
	case resourcev3.ListenerType:
		m = &listenerv3.Listener{}
	case resourcev3.ClusterType:
		m = &clusterv3.Cluster{}
	default:
		m = &endpointv3.ClusterLoadAssignment{}
	}
	if err := a.UnmarshalTo(m); err != nil {
		t.Fatal(err)
	}
	return cachev3.GetResourceName(m)
}

// TestGRPCSubsetRequests: over one ADS stream a gRPC node is answered with
// exactly the resources it names, a subset of its snapshot: one service's
// listener, then both (what a client shared by two targets asks), one
// service's clusters, one load assignment; a client dialing a target the
// snapshot lacks is answered by its absence, not by silence (so its calls
// fail instead of waiting). An Envoy node naming a subset
// of the load assignments still waits until it names them all.
func TestGRPCSubsetRequests(t *testing.T) {
	table := twoServicesTable(t, 10)
	s := startADS(t)
	if err := s.Update(context.Background(), table); err != nil {
		t.Fatal(err)
	}
	open := func(node *corev3.Node) *sotw {
		ctx, cancel := context.WithTimeout(context.Background(), readyWithin)
		t.Cleanup(cancel)
		stream, err := xdsclient.ADS(t, s.Addr()).StreamAggregatedResources(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return &sotw{t: t, stream: stream, node: node, last: map[string]*discoveryv3.DiscoveryResponse{}}
	}
	c := open(&corev3.Node{Id: "grpc-subset", UserAgentName: "gRPC Go"})
	for _, step := range []struct {
		typ   string
		names []string
		want  string
	}{
		{resourcev3.ListenerType, []string{"users"}, "users"},
		{resourcev3.ListenerType, []string{"users", "orders"}, "orders users"},
		{resourcev3.ClusterType, []string{"users-v1", "users-v2"}, "users-v1 users-v2"},
		{resourcev3.EndpointType, []string{"users-v2"}, "users-v2"},
	} {
		c.ask(step.typ, step.names...)
		if typ, names := c.got(fmt.Sprintf("gRPC node asking %s %v", ShortType(step.typ), step.names)); typ != step.typ || strings.Join(names, " ") != step.want {
			t.Fatalf("gRPC node asking %s %v: got %s %v, want %s", ShortType(step.typ), step.names, ShortType(typ), names, step.want)
		}
	}

	// A client dialing a target the snapshot lacks learns it does not exist.
	c = open(&corev3.Node{Id: "grpc-nosuch", UserAgentName: "gRPC Go"})
	c.ask(resourcev3.ListenerType, "nosuch")
	if typ, names := c.got("gRPC node asking for listener nosuch"); typ != resourcev3.ListenerType || len(names) != 0 {
		t.Fatalf("gRPC node asking for listener nosuch: got %s %v, want no listener", ShortType(typ), names)
	}

	envoy := &corev3.Node{Id: "envoy-subset", UserAgentName: "envoy"}
	res, _ := Translate(table, Options{Kind: Envoy})
	var all []string
	for _, la := range res.Endpoints {
		all = append(all, la.GetClusterName())
	}
	e := open(envoy)
	e.ask(resourcev3.EndpointType, all...)
	if typ, names := e.got("Envoy node naming every load assignment"); typ != resourcev3.EndpointType || len(names) != len(all) {
		t.Fatalf("Envoy node naming every load assignment %v: got %s %v", all, ShortType(typ), names)
	}
	e = open(envoy)
	e.ask(resourcev3.EndpointType, all[0])
	if !xdsclient.Quiet(func() error { _, err := e.stream.Recv(); return err }, 300*time.Millisecond) {
		t.Fatalf("an Envoy node naming only %s of %v was answered", all[0], all)
	}
}
