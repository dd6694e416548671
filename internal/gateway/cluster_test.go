package gateway_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/testutil"
	"github.com/turnout-gw/turnout/internal/testutil/etcdtest"
)

const fleetGatewayYAML = `
state: memory
cluster: { etcd: { endpoints: [{{ETCD}}], prefix: /gw }, member: {{NAME}}, lease: 1s }
upstreams:
  v1: { targets: [{{V1}}] }
  v2: { targets: [{{V2}}] }
services:
  users:
    match: { path_prefix: /users }
    default: v1
    versions: { v1: { upstream: v1 }, v2: { upstream: v2 } }
    rollout: { from: v1, to: v2, weight: 0, steps: [10, 50, 100], step_interval: 1h }
`

// TestGatewayFleet: two gateways in one fleet; a weight of 100 set through
// one gateway's admin API sends the other's unpinned traffic to v2, and
// each advertises the admin address it bound (admin.listen port 0).
func TestGatewayFleet(t *testing.T) {
	srv := etcdtest.Start(t)
	vars := map[string]string{"ETCD": srv.Endpoint, "V1": testutil.VersionServer(t, "v1").URL, "V2": testutil.VersionServer(t, "v2").URL}
	gws := map[string]*testutil.Turnout{}
	for _, name := range []string{"gw-a", "gw-b"} {
		vars["NAME"] = name
		gws[name] = testutil.Start(t, fleetGatewayYAML, vars)
	}
	a, b := gws["gw-a"], gws["gw-b"]
	testutil.Eventually(t, 15*time.Second, "both gateways in the view, advertising their admin ports", func() bool {
		var v struct {
			Members []struct{ Name, Advertise string } `json:"members"`
		}
		if testutil.GetJSON(t, a.AdminURL+"/api/v1/cluster", &v) != http.StatusOK || len(v.Members) != 2 {
			return false
		}
		return v.Members[0].Advertise == a.AdminURL && v.Members[1].Advertise == b.AdminURL
	})
	if code, body := adminDo(t, "PUT", b.AdminURL+"/api/v1/rollouts/users/weight", `{"weight": 100}`); code != http.StatusOK {
		t.Fatalf("weight through gw-b = %d %s", code, body)
	}
	c := &http.Client{}
	testutil.Eventually(t, 15*time.Second, "gw-a to serve v2", func() bool {
		for i := range 20 {
			if _, served, _ := testutil.Get(t, c, a.URL+"/users/1", fmt.Sprintf("X-User-ID: u%d", i)); served != "v2" {
				return false
			}
		}
		return true
	})
}
