package proxy_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/turnout-gw/turnout/internal/testutil"
)

const routingYAML = `
upstreams:
  users-v1: { targets: [{{V1}}] }
  users-v2: { targets: [{{V2}}] }
services:
  users:
    match: { path_prefix: /users }
    negotiate: { accept_vendor: application/vnd.example }
    default: v1
    versions:
      v1: { upstream: users-v1, lifecycle: deprecated, sunset: 2027-06-30T00:00:00Z, successor: v2 }
      v2: { upstream: users-v2 }
      v0: { upstream: users-v1, lifecycle: gone }
      v0.5: { upstream: users-v1, lifecycle: redirect, successor: v2 }
    rules:
      - name: testers
        match: { header: { X-Env: canary } }
        version: v2
    rollout:
      from: v1
      to: v2
      weight: {{WEIGHT}}
      sticky: header:X-User-ID
`

func startRouting(t *testing.T, weight string) (*testutil.Turnout, map[string]string) {
	v1 := testutil.VersionServer(t, "v1")
	v2 := testutil.VersionServer(t, "v2")
	vars := map[string]string{"V1": v1.URL, "V2": v2.URL, "WEIGHT": weight}
	return testutil.Start(t, routingYAML, vars), vars
}

// TestE2EPinning drives every negotiation source and lifecycle answer
// through a real listener.
func TestE2EPinning(t *testing.T) {
	tt, _ := startRouting(t, "0")
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	cases := []struct {
		name    string
		path    string
		headers []string
		status  int
		served  string
		body    string // substring
	}{
		{"default", "/users/1", nil, 200, "v1", `"path":"/users/1"`},
		{"header", "/users/1", []string{"X-API-Version: 2"}, 200, "v2", `"turnout_version":"v2"`},
		{"accept vendor", "/users/1", []string{"Accept: application/vnd.example.v2+json"}, 200, "v2", `"version":"v2"`},
		{"accept param", "/users/1", []string{"Accept: application/json; version=2"}, 200, "v2", `"version":"v2"`},
		{"path stripped", "/v2/users/1", nil, 200, "v2", `"path":"/users/1"`},
		{"query", "/users/1?version=2", nil, 200, "v2", `"version":"v2"`},
		{"rule", "/users/1", []string{"X-Env: canary"}, 200, "v2", `"version":"v2"`},
		{"not acceptable", "/users/1", []string{"X-API-Version: 3"}, 406, "", `"versions":["v0","v0.5","v1","v2"]`},
		{"malformed", "/users/1", []string{"X-API-Version: %%%"}, 400, "", `"status":400`},
		{"gone", "/users/1", []string{"X-API-Version: v0"}, 410, "", `gone`},
		{"redirect", "/v0.5/users/1", nil, 308, "", `moved`},
		{"no service", "/orders/1", nil, 404, "", `no service`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, served, body := testutil.Get(t, c, tt.URL+tc.path, tc.headers...)
			if status != tc.status || served != tc.served || !strings.Contains(body, tc.body) {
				t.Fatalf("got %d served=%q body=%s; want %d served=%q body containing %s", status, served, body, tc.status, tc.served, tc.body)
			}
			if status >= 400 {
				var js map[string]any
				if err := json.Unmarshal([]byte(body), &js); err != nil {
					t.Fatalf("error body is not JSON: %s", body)
				}
			}
		})
	}
	t.Run("redirect location", func(t *testing.T) {
		resp, err := c.Get(tt.URL + "/v0.5/users/1?x=1")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); loc != "/v2/users/1?x=1" {
			t.Fatalf("Location = %q", loc)
		}
	})
	t.Run("deprecation headers", func(t *testing.T) {
		resp, err := c.Get(tt.URL + "/users/1")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := resp.Header
		if h.Get("Deprecation") == "" || h.Get("Sunset") != "Wed, 30 Jun 2027 00:00:00 GMT" || h.Get("Link") != `</v2/users/1>; rel="successor-version"` {
			t.Fatalf("lifecycle headers missing: %v", h)
		}
		resp, err = c.Get(tt.URL + "/v2/users/1")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Header.Get("Deprecation") != "" {
			t.Fatal("an active version must not carry Deprecation")
		}
	})
}

// TestE2EStickySplit sends 10,000 distinct users through a 90/10 split three
// times, then raises the weight 10 → 30 by reloading the file.
func TestE2EStickySplit(t *testing.T) {
	tt, vars := startRouting(t, "10")
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	defer c.CloseIdleConnections()
	const n = 10000
	assign := func() map[int]string {
		out := make(map[int]string, n)
		for i := 0; i < n; i++ {
			status, served, _ := testutil.Get(t, c, tt.URL+"/users/1", fmt.Sprintf("X-User-ID: user-%d", i))
			if status != 200 {
				t.Fatalf("status %d", status)
			}
			out[i] = served
		}
		return out
	}
	share := func(m map[int]string) float64 {
		to := 0
		for _, v := range m {
			if v == "v2" {
				to++
			}
		}
		return float64(to) * 100 / n
	}
	first := assign()
	if s := share(first); s < 9 || s > 11 {
		t.Fatalf("v2 share %.2f%%, want 10 ± 1", s)
	}
	for rep := 0; rep < 3; rep++ {
		again := assign()
		for i, v := range first {
			if again[i] != v {
				t.Fatalf("user-%d moved %s → %s on repeat %d", i, v, again[i], rep)
			}
		}
	}
	vars["WEIGHT"] = "30"
	tt.Rewrite(t, routingYAML, vars)
	testutil.Eventually(t, 5e9, "reload to weight 30", func() bool {
		return tt.App.Gateway.Snapshot().Table.Service("users").Rollout.Weight == 30
	})
	raised := assign()
	if s := share(raised); s < 29 || s > 31 {
		t.Fatalf("v2 share after raise %.2f%%, want 30 ± 1", s)
	}
	for i, v := range first {
		if v == "v2" && raised[i] != "v2" {
			t.Fatalf("raising the weight moved user-%d back to %s", i, raised[i])
		}
	}
}
