package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/testutil"
	"github.com/turnout-gw/turnout/internal/testutil/testpki"
	"github.com/turnout-gw/turnout/internal/testutil/wait"
	"github.com/turnout-gw/turnout/internal/usage"
)

// usageYAML counts clients by their API key (a credential: hashed), two
// per version; v1 is served by v2's backend through an adapter, v0 is gone.
const usageYAML = `
state: {{STATE}}
upstreams:
  v2: { targets: [{{V2}}] }
services:
  users:
    match: { path_prefix: /users }
    negotiate: { sources: [header], header: X-API-Version }
    default: v2
    clients: { key: header:X-Api-Key, max_clients: 2 }
    versions:
      v2: { upstream: v2 }
      v1:
        served_by: v2
        adapt: { response: '.headers["x-adapted"] = "v1"' }
      v0: { lifecycle: gone, upstream: v2 }
`

func getUsage(t *testing.T, tt *testutil.Turnout, query string) (int, string) {
	t.Helper()
	resp, err := http.Get(tt.AdminURL + "/api/v1/usage/" + query)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return resp.StatusCode, readAll(t, resp)
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestUsageCountsEveryClientAndSurvivesARestart: three clients with
// distinct keys call v1 (served by v2 through the adapter), v2 and the gone
// v0; the counts are exact per version, a third client on a version is
// counted under (other), keys appear only hashed, and a restart on the same
// state file shows the same counts.
func TestUsageCountsEveryClientAndSurvivesARestart(t *testing.T) {
	vars := map[string]string{"V2": testutil.VersionServer(t, "v2").URL, "STATE": filepath.Join(t.TempDir(), "state.db")}
	tt := testutil.Start(t, usageYAML, vars)
	c := &http.Client{Timeout: 5 * time.Second}
	send := func(key, version string, n int, path string, want int) {
		for range n {
			req := testutil.NewRequest(t, http.MethodGet, tt.URL+path, "X-Api-Key: "+key, "X-API-Version: "+version)
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			readAll(t, resp)
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Fatalf("%s %s as %s: %d, want %d", version, path, key, resp.StatusCode, want)
			}
			if version == "v1" && resp.Header.Get("X-Adapted") != "v1" {
				t.Fatalf("v1 was not adapted: %v", resp.Header)
			}
		}
	}
	send("alice-secret", "v1", 5, "/users/1", 200)
	send("alice-secret", "v1", 2, "/users", 200)
	send("bob-secret", "v1", 3, "/users/2", 200)
	send("carol-secret", "v1", 4, "/users/3", 200) // the third client of v1: (other)
	send("carol-secret", "v2", 6, "/users/3", 200)
	send("bob-secret", "v0", 1, "/users/2", 410) // a gone version still called
	send("bob-secret", "v9", 1, "/users/2", 406) // no version: not counted

	alice, bob, carol := usage.HashClient("alice-secret"), usage.HashClient("bob-secret"), usage.HashClient("carol-secret")
	var v1 usage.Version
	wait.For(t, 5*time.Second, "v1's 14 requests counted", func() bool {
		code, body := getUsage(t, tt, "users?version=v1")
		return code == 200 && json.Unmarshal([]byte(body), &v1) == nil && v1.Requests == 14
	})
	want := []struct {
		client string
		n      uint64
		ops    string
	}{{alice, 7, "[{GET /users 7}]"}, {usage.OtherClient, 4, "[{GET /users 4}]"}, {bob, 3, "[{GET /users 3}]"}}
	if v1.Service != "users" || v1.Version != "v1" || len(v1.Clients) != len(want) {
		t.Fatalf("v1 usage = %+v", v1)
	}
	for i, w := range want {
		got := v1.Clients[i]
		if got.Client != w.client || got.Requests != w.n || fmt.Sprint(got.Operations) != w.ops || got.FirstSeen.IsZero() || got.LastSeen.Before(got.FirstSeen) {
			t.Errorf("v1 client %d = %+v, want %s with %d requests, operations %s", i, got, w.client, w.n, w.ops)
		}
	}
	var all usage.ServiceView
	wait.For(t, 5*time.Second, "every version's requests counted", func() bool {
		code, body := getUsage(t, tt, "users")
		return code == 200 && json.Unmarshal([]byte(body), &all) == nil && len(all.Versions) == 3 &&
			all.Versions[0].Requests == 1 && all.Versions[2].Requests == 6
	})
	if v0, v2 := all.Versions[0], all.Versions[2]; v0.Version != "v0" || v0.Clients[0].Client != bob || v2.Version != "v2" || v2.Clients[0].Client != carol {
		t.Errorf("usage = %+v", all)
	}
	_, body := getUsage(t, tt, "users")
	if strings.Contains(body, "secret") {
		t.Errorf("a key appears in clear: %s", body)
	}
	if code, _ := getUsage(t, tt, "nope"); code != http.StatusNotFound {
		t.Errorf("unknown service: %d, want 404", code)
	}
	if code, _ := getUsage(t, tt, "users?version=v7"); code != http.StatusNotFound {
		t.Errorf("unknown version: %d, want 404", code)
	}

	// A restart on the same state file shows the same counts.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tt.App.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	again := testutil.Start(t, usageYAML, vars)
	_, after := getUsage(t, again, "users")
	if after != body {
		t.Errorf("after a restart:\n%s\nwant:\n%s", after, body)
	}
}

// TestUsageByClientCertificate: with clients.key client_cert, HTTPS
// requests count under the subject of their verified certificate, and one
// without a certificate as (none).
func TestUsageByClientCertificate(t *testing.T) {
	p := newPKI(t)
	text := strings.Replace(mtlsYAML, "    versions: { v1: { upstream: v1 }, v2: { upstream: v2 } }",
		"    clients: { key: client_cert }\n    versions: { v1: { upstream: v1 }, v2: { upstream: v2 } }", 1)
	tt := testutil.Start(t, text, p.vars(t, false, "1.2"))
	url := "https://" + tt.App.Server.Addr()
	for _, leaf := range []*testpki.Leaf{p.bob, p.bob, nil} {
		if got, err := served(p.client(t, leaf, 0), url); got != "v1" {
			t.Fatalf("served by %q (%v), want v1", got, err)
		}
	}
	var v1 usage.Version
	wait.For(t, 5*time.Second, "v1's 3 requests counted", func() bool {
		code, body := getUsage(t, tt, "api?version=v1")
		return code == 200 && json.Unmarshal([]byte(body), &v1) == nil && v1.Requests == 3
	})
	if len(v1.Clients) != 2 || v1.Clients[0].Client != "CN=bob,O=Turnout tests" || v1.Clients[0].Requests != 2 || v1.Clients[1].Client != usage.NoClient {
		t.Errorf("v1 clients = %+v, want CN=bob twice and (none) once", v1.Clients)
	}
}
