package xds

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	statuspb "google.golang.org/genproto/googleapis/rpc/status"

	"github.com/turnout-gw/turnout/internal/testutil/wait"
	"github.com/turnout-gw/turnout/internal/testutil/xdsclient"
)

// TestDeltaEnvoyStream: an Envoy node on the delta protocol (DELTA_GRPC)
// gets the Envoy snapshot's route configuration, then again when it
// changes; a rejection is reported once with its message and not resent.
func TestDeltaEnvoyStream(t *testing.T) {
	table := echoTable(t)
	var mu sync.Mutex
	var nacks []Nack
	s := startADS(t, WithNackObserver(func(n Nack) { mu.Lock(); nacks = append(nacks, n); mu.Unlock() }))
	if err := s.Update(context.Background(), table); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := xdsclient.ADS(t, s.Addr()).DeltaAggregatedResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	node := &corev3.Node{Id: "envoy-delta", UserAgentName: "envoy"}
	if err := stream.Send(&discoveryv3.DeltaDiscoveryRequest{Node: node, TypeUrl: resourcev3.RouteType,
		ResourceNamesSubscribe: []string{EnvoyRouteName}}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetResources()) != 1 || resp.GetResources()[0].GetName() != EnvoyRouteName {
		t.Fatalf("first delta response: %v", resp.GetResources())
	}
	if err := stream.Send(&discoveryv3.DeltaDiscoveryRequest{TypeUrl: resourcev3.RouteType, ResponseNonce: resp.GetNonce()}); err != nil {
		t.Fatal(err)
	}

	// A weight change sends the changed route configuration again; the
	// node rejects it.
	next, _ := table.WithWeight("echo", 30)
	if err := s.Update(context.Background(), next); err != nil {
		t.Fatal(err)
	}
	resp, err = stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetResources()) != 1 || resp.GetResources()[0].GetVersion() == "" {
		t.Fatalf("delta response after the weight change: %v", resp.GetResources())
	}
	if err := stream.Send(&discoveryv3.DeltaDiscoveryRequest{TypeUrl: resourcev3.RouteType, ResponseNonce: resp.GetNonce(),
		ErrorDetail: &statuspb.Status{Code: 3, Message: "route turnout_routes: no"}}); err != nil {
		t.Fatal(err)
	}
	wait.ForErr(t, 5*time.Second, "one rejection recorded", func() error {
		mu.Lock()
		defer mu.Unlock()
		if n := len(nacks); n != 1 {
			return fmt.Errorf("%d rejections recorded", n)
		}
		return nil
	})
	if !xdsclient.Quiet(func() error { _, err := stream.Recv(); return err }, 300*time.Millisecond) {
		t.Error("the rejected route configuration was sent again")
	}
	mu.Lock()
	defer mu.Unlock()
	if nk := nacks[0]; nk.Kind != Envoy || nk.Node != "envoy-delta" || nk.Message != "route turnout_routes: no" || nk.Version != s.Version(Envoy) {
		t.Errorf("rejection %+v", nk)
	}
}
