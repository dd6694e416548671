package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"

	"github.com/turnout-gw/turnout/internal/testutil"
	"github.com/turnout-gw/turnout/internal/testutil/etcdtest"
	"github.com/turnout-gw/turnout/internal/testutil/wait"
	"github.com/turnout-gw/turnout/internal/testutil/xdsclient"
	"github.com/turnout-gw/turnout/internal/xds"
)

// fleetXDSYAML is fleetGatewayYAML's member (a rollout that starts at its
// first step, 10, and does not step by itself) also serving xDS.
var fleetXDSYAML = strings.Replace(fleetGatewayYAML, "state: memory\n", "state: memory\nxds: { listen: 127.0.0.1:0 }\n", 1)

// envoyWeights asks the ADS server at addr for the Envoy route
// configuration, as an Envoy node on a fresh state-of-the-world stream,
// and returns every weighted cluster of it as "cluster=weight", sorted.
func envoyWeights(t *testing.T, addr string) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	stream, err := xdsclient.ADS(t, addr).StreamAggregatedResources(ctx)
	if err != nil {
		return nil, fmt.Errorf("open ads stream: %w", err)
	}
	if err := stream.Send(&discoveryv3.DiscoveryRequest{Node: &corev3.Node{Id: "envoy-fleet", UserAgentName: "envoy"},
		TypeUrl: resourcev3.RouteType, ResourceNames: []string{xds.EnvoyRouteName}}); err != nil {
		return nil, fmt.Errorf("ask routes: %w", err)
	}
	resp, err := stream.Recv()
	if err != nil {
		return nil, fmt.Errorf("receive routes: %w", err)
	}
	var out []string
	for _, a := range resp.GetResources() {
		rc := &routev3.RouteConfiguration{}
		if err := a.UnmarshalTo(rc); err != nil {
			return nil, fmt.Errorf("decode routes: %w", err)
		}
		for _, vh := range rc.GetVirtualHosts() {
			for _, r := range vh.GetRoutes() {
				for _, c := range r.GetRoute().GetWeightedClusters().GetClusters() {
					out = append(out, fmt.Sprintf("%s=%d", c.GetName(), c.GetWeight().GetValue()))
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// TestXDSFleetServesOneSnapshot: two fleet members each serving xDS (as
// several control planes behind one Envoy fleet). A weight set through one
// member's admin API reaches both members' Envoy route configurations as
// the same weighted clusters, and an abort through the other member takes
// both exports off the split.
func TestXDSFleetServesOneSnapshot(t *testing.T) {
	t.Setenv("TURNOUT_ADMIN_TOKEN", fleetToken)
	srv := etcdtest.Start(t)
	vars := map[string]string{"ETCD": srv.Endpoint, "V1": testutil.VersionServer(t, "v1").URL, "V2": testutil.VersionServer(t, "v2").URL}
	var gws []*testutil.Turnout
	for _, name := range []string{"gw-a", "gw-b"} {
		vars["NAME"] = name
		gws = append(gws, testutil.Start(t, fleetXDSYAML, vars))
	}
	wait.For(t, 15*time.Second, "both members in the view", func() bool {
		var v struct {
			Members []clusterMember `json:"members"`
		}
		return testutil.GetJSON(t, gws[0].AdminURL+"/api/v1/cluster", &v) == http.StatusOK && len(v.Members) == 2
	})
	// bothExport waits until each member's export holds weighted
	// clusters whose weights are want percent (v1's then v2's; the export
	// counts in millionths).
	bothExport := func(what string, want ...int) {
		t.Helper()
		wait.ForErr(t, 15*time.Second, what, func() error {
			var got [][]string
			for _, g := range gws {
				w, err := envoyWeights(t, g.App.XDS.Addr())
				if err != nil {
					return err
				}
				got = append(got, w)
			}
			var ws []string
			for _, s := range got[0] {
				_, n, _ := strings.Cut(s, "=")
				ws = append(ws, n)
			}
			if !slices.Equal(got[0], got[1]) || len(ws) != len(want) {
				return fmt.Errorf("exports %v and %v, want the same with weights %v", got[0], got[1], want)
			}
			for i, n := range want {
				if ws[i] != fmt.Sprint(n*10000) {
					return fmt.Errorf("exports %v, want weights %v", got[0], want)
				}
			}
			return nil
		})
	}
	bothExport("both exports at the first step", 90, 10)

	auth := map[string]string{"Content-Type": "application/json", "Authorization": "Bearer " + fleetToken}
	if code, body := webRequest(t, "PUT", gws[0].AdminURL+"/api/v1/rollouts/users/weight", "", `{"weight": 40}`, auth); code != http.StatusOK {
		t.Fatalf("weight through gw-a = %d %s", code, body)
	}
	bothExport("both exports at the weight set through gw-a", 60, 40)

	if code, body := webRequest(t, "POST", gws[1].AdminURL+"/api/v1/rollouts/users/abort", "", "", auth); code != http.StatusOK {
		t.Fatalf("abort through gw-b = %d %s", code, body)
	}
	// At weight 0 the route goes to v1 alone: no weighted clusters.
	bothExport("both exports off the split after the abort through gw-b")
}
