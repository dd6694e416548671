package gateway_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"

	"github.com/turnout-gw/turnout/internal/rollout"
	"github.com/turnout-gw/turnout/internal/testutil"
	"github.com/turnout-gw/turnout/internal/testutil/grpcecho"
	"github.com/turnout-gw/turnout/internal/testutil/xdsclient"
	"github.com/turnout-gw/turnout/internal/xds"
)

const xdsYAML = "state: memory\nxds: { listen: 127.0.0.1:0 }\n" + xdsclient.EchoYAML

// pushed waits until the gRPC clients acknowledged a snapshot other than
// old and returns its version and when it was acknowledged.
func pushed(t *testing.T, s *xds.Server, old string) (string, time.Time) {
	t.Helper()
	var v string
	var at time.Time
	testutil.Eventually(t, 10*time.Second, "a new snapshot acknowledged", func() bool {
		v = s.Version(xds.GRPC)
		var ok bool
		at, ok = s.Acked(xds.GRPC, v)
		return ok && v != old
	})
	return v, at
}

// TestXDSGatewayWeightsAndRollback: Turnout with xds.listen serves a real
// grpc-go xDS client the rollout split (90/10 over 2,000 calls within ±2 %),
// header pins at 100 %, a weight set through the admin API, and the weight
// 0 of an automatic rollback (v2 too slow on the calls Turnout proxies
// itself), each pushed to the client.
func TestXDSGatewayWeightsAndRollback(t *testing.T) {
	v1, v2 := grpcecho.Start(t, "v1"), grpcecho.Start(t, "v2")
	tt := testutil.Start(t, xdsYAML, map[string]string{"V1": v1.Addr, "V2": v2.Addr,
		"ANALYSIS": "{ window: 10s, interval: 50ms, min_requests: 5, max_latency_p95: 150ms }"})
	s := tt.App.XDS
	c := xdsclient.Dial(t, s.Addr(), "echo")
	got := xdsclient.Served(t, c, 2000)
	version, _ := pushed(t, s, "")
	// gRPC's weighted_target picks at random: 2,000 calls at 10 % have a
	// standard deviation of 0.67 points; ± 3 is 4.5 of them.
	if share := float64(got["v2"]) / 2000; got["v1"]+got["v2"] != 2000 || share < 0.07 || share > 0.13 {
		t.Fatalf("weight 10 over 2000 calls: %v, want v2 at 10 %% ± 3", got)
	}
	t.Logf("weight 10 over 2000 calls: %v", got)
	for _, v := range []string{"v1", "v2"} {
		if got := xdsclient.Served(t, c, 200, "x-api-version", v); got[v] != 200 {
			t.Fatalf("pinned to %s: %v", v, got)
		}
	}

	// A weight set through the admin API reaches the client.
	put := time.Now()
	req, _ := http.NewRequest("PUT", tt.AdminURL+"/api/v1/rollouts/echo/weight", strings.NewReader(`{"weight": 50}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("PUT weight: %d", resp.StatusCode)
	}
	version, acked := pushed(t, s, version)
	t.Logf("admin API weight 50: acknowledged by the client %v after the PUT", acked.Sub(put))
	got = xdsclient.Served(t, c, 1000)
	if share := float64(got["v2"]) / 1000; share < 0.43 || share > 0.57 { // ± 4.4 standard deviations
		t.Fatalf("weight 50 over 1000 calls: %v", got)
	}

	// v2 turns slow on the calls Turnout proxies itself: the analysis fails,
	// the engine rolls back, and the client goes to v1.
	cc, err := grpc.NewClient(tt.App.Server.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	direct := testpb.NewTestServiceClient(cc)
	testutil.Eventually(t, 15*time.Second, "automatic rollback", func() bool {
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				ctx = metadata.AppendToOutgoingContext(ctx, "x-api-version", "v2", grpcecho.MDSleep, "250ms")
				_, _ = direct.UnaryCall(ctx, &testpb.SimpleRequest{})
			}()
		}
		wg.Wait()
		st, err := tt.App.Engine.Status("echo")
		return err == nil && st.State == rollout.RolledBack
	})
	st, _ := tt.App.Engine.Status("echo")
	_, acked = pushed(t, s, version)
	t.Logf("automatic rollback: acknowledged by the client %v after the engine rolled back", acked.Sub(st.UpdatedAt))
	if got := xdsclient.Served(t, c, 200); got["v1"] != 200 {
		t.Fatalf("after the rollback: %v, want every call on v1", got)
	}
}

// TestXDSGatewayTwoGRPCServices: Turnout exporting two services to
// proxyless gRPC serves a client dialing only one of them (each channel
// names only its own listener and clusters): xds:///users and
// xds:///orders each reach both versions of their service within a
// bounded wait, and a weight set through the admin API reaches users'
// channel while orders' stays on its default.
func TestXDSGatewayTwoGRPCServices(t *testing.T) {
	vars := map[string]string{"USERS_WEIGHT": "0"}
	for _, v := range []string{"users-v1", "users-v2", "orders-v1", "orders-v2"} {
		vars[strings.ToUpper(strings.ReplaceAll(v, "-", "_"))] = grpcecho.Start(t, v).Addr
	}
	tt := testutil.Start(t, "state: memory\nxds: { listen: 127.0.0.1:0 }\n"+xdsclient.TwoServicesYAML, vars)
	clients := map[string]testpb.TestServiceClient{}
	for _, service := range []string{"users", "orders"} {
		c := xdsclient.Dial(t, tt.App.XDS.Addr(), service)
		if err := xdsclient.Ready(c, 10*time.Second); err != nil {
			t.Fatalf("xds:///%s: no answer within 10s: %v", service, err)
		}
		for _, v := range []string{"v1", "v2"} {
			if got := xdsclient.Served(t, c, 20, "x-api-version", v); got[service+"-"+v] != 20 {
				t.Errorf("xds:///%s pinned to %s: %v", service, v, got)
			}
		}
		clients[service] = c
	}
	req, _ := http.NewRequest("PUT", tt.AdminURL+"/api/v1/rollouts/users/weight", strings.NewReader(`{"weight": 100}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("PUT weight: %d", resp.StatusCode)
	}
	xdsclient.WaitFor(t, clients["users"], 10*time.Second, func(m map[string]int) bool { return m["users-v2"] == 20 })
	if got := xdsclient.Served(t, clients["orders"], 20); got["orders-v1"] != 20 {
		t.Errorf("orders after users' weight change: %v, want all 20 by orders-v1", got)
	}
}
