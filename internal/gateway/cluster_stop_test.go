package gateway_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/testutil"
	"github.com/turnout-gw/turnout/internal/testutil/etcdtest"
)

// TestFleetMemberStopsWhileEtcdIsDown: two members lose etcd; asked to
// stop (SIGTERM's path), each stops within its grace period instead of
// waiting on a watch or a campaign that cannot reach etcd.
func TestFleetMemberStopsWhileEtcdIsDown(t *testing.T) {
	srv := etcdtest.Start(t)
	vars := map[string]string{"ETCD": srv.Endpoint, "V1": testutil.VersionServer(t, "v1").URL, "V2": testutil.VersionServer(t, "v2").URL}
	var gws []*testutil.Turnout
	for _, name := range []string{"gw-a", "gw-b"} {
		vars["NAME"] = name
		gws = append(gws, testutil.Start(t, fleetGatewayYAML, vars))
	}
	testutil.Eventually(t, 15*time.Second, "both members in the view", func() bool {
		var v struct {
			Members []struct{ Name string } `json:"members"`
		}
		return testutil.GetJSON(t, gws[0].AdminURL+"/api/v1/cluster", &v) == http.StatusOK && len(v.Members) == 2
	})
	srv.Stop()
	for _, g := range gws {
		testutil.Eventually(t, 15*time.Second, "the member out of sync", func() bool {
			resp, err := http.Get(g.AdminURL + "/readyz")
			if err != nil {
				return false
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			return err == nil && strings.Contains(string(b), "out of sync")
		})
	}
	for _, g := range gws {
		done := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			done <- g.App.Stop(ctx)
		}()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("a member asked to stop with etcd down did not stop within 30s")
		}
	}
}
