package gateway_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	statuspb "google.golang.org/genproto/googleapis/rpc/status"

	"github.com/turnout-gw/turnout/internal/testutil"
	"github.com/turnout-gw/turnout/internal/testutil/grpcecho"
	"github.com/turnout-gw/turnout/internal/testutil/xdsclient"
)

// TestXDSNackRecorded: an Envoy node that rejects the clusters it was sent
// (a hand-driven ADS stream, as Envoy speaks it) is counted in
// turnout_xds_nacks_total, shows up in the events API with its message, and
// is not sent the rejected version again.
func TestXDSNackRecorded(t *testing.T) {
	v1, v2 := grpcecho.Start(t, "v1"), grpcecho.Start(t, "v2")
	tt := testutil.Start(t, xdsYAML, map[string]string{"V1": v1.Addr, "V2": v2.Addr, "ANALYSIS": "{}"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := xdsclient.ADS(t, tt.App.XDS.Addr()).StreamAggregatedResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	node := &corev3.Node{Id: "envoy-edge-1", UserAgentName: "envoy"}
	if err := stream.Send(&discoveryv3.DiscoveryRequest{Node: node, TypeUrl: resourcev3.ClusterType}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetResources()) != 2 {
		t.Fatalf("%d clusters sent, want 2", len(resp.GetResources()))
	}
	if err := stream.Send(&discoveryv3.DiscoveryRequest{Node: node, TypeUrl: resourcev3.ClusterType, ResponseNonce: resp.GetNonce(),
		ErrorDetail: &statuspb.Status{Code: 3, Message: "cluster echo-v2: unknown field"}}); err != nil {
		t.Fatal(err)
	}
	quiet := make(chan bool, 1)
	go func() {
		quiet <- xdsclient.Quiet(func() error { _, err := stream.Recv(); return err }, 300*time.Millisecond)
	}()

	testutil.Eventually(t, 5*time.Second, "the NACK on /metrics", func() bool {
		return strings.Contains(get(t, tt.AdminURL+"/metrics"), `turnout_xds_nacks_total{kind="envoy",type="cluster"} 1`)
	})
	var events struct {
		Events []struct {
			Type, Actor, Message string
			Fields               map[string]any
		} `json:"events"`
	}
	if err := json.Unmarshal([]byte(get(t, tt.AdminURL+"/api/v1/events")), &events); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range events.Events {
		if e.Type == "xds_nack" {
			found = true
			if !strings.Contains(e.Message, "envoy-edge-1") || e.Fields["error"] != "cluster echo-v2: unknown field" || e.Fields["version"] != resp.GetVersionInfo() {
				t.Errorf("xds_nack event %+v", e)
			}
		}
	}
	if !found {
		t.Errorf("no xds_nack event in %+v", events.Events)
	}
	if !<-quiet {
		t.Error("the rejected clusters were sent again")
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
