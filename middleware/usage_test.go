package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/testutil"
	"github.com/turnout-gw/turnout/internal/testutil/wait"
	"github.com/turnout-gw/turnout/internal/usage"
	"github.com/turnout-gw/turnout/middleware"
)

// TestUsageCountsInProcess: the in-process middleware feeds the same usage
// counts as the proxy, under the version whose handler answered.
func TestUsageCountsInProcess(t *testing.T) {
	h := start(t, `
state: memory
upstreams: { u: { targets: [http://127.0.0.1:9] } }
services:
  users:
    match: { path_prefix: /users }
    negotiate: { sources: [header], header: X-API-Version }
    default: v2
    clients: { key: header:X-Client-ID }
    versions: { v1: { upstream: u }, v2: { upstream: u } }
`, nil, middleware.Versions{"v1": testutil.VersionHandler("v1"), "v2": testutil.VersionHandler("v2")})
	c := &http.Client{Timeout: 5 * time.Second}
	for i, version := range []string{"v1", "v1", "v2"} {
		status, _, _ := testutil.Get(t, c, h.URL+"/users/1", "X-API-Version: "+version, "X-Client-ID: "+[]string{"c0", "c1"}[i%2])
		if status != http.StatusOK {
			t.Fatalf("request %d: %d", i, status)
		}
	}
	admin := httptest.NewServer(h.MW.AdminHandler())
	defer admin.Close()
	var v usage.Version
	wait.For(t, 5*time.Second, "v1's two requests counted", func() bool {
		return testutil.GetJSON(t, admin.URL+"/api/v1/usage/users?version=v1", &v) == http.StatusOK && v.Requests == 2
	})
	if len(v.Clients) != 2 || v.Clients[0].Client != "c0" || v.Clients[1].Client != "c1" || v.Clients[0].Operations[0].Operation != "GET /users" {
		t.Errorf("v1 usage = %+v", v)
	}
}
