// Package routecases is the one table of negotiation, lifecycle and
// sticky-split cases that every way of applying the routing table must
// pass: the proxy (internal/proxy) and the in-process middleware
// (middleware) run the same cases through their own harness. It is
// imported only from _test files.
package routecases

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/testutil"
)

// YAML is the configuration the cases assume: users with four versions of
// every lifecycle, a rule and a sticky rollout. {{V1}} and {{V2}} are the
// upstreams' URLs (any http URL when the harness serves versions in
// process), {{WEIGHT}} the rollout weight.
const YAML = `
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

// Versions are the version names of YAML whose requests reach a backend;
// a harness serving in process registers testutil.VersionHandler for each.
var Versions = []string{"v0", "v0.5", "v1", "v2"}

// Pin is one negotiation or lifecycle case: a GET of Path with Headers
// must answer Status, served by Served ("" for Turnout's own answers), with
// a body containing Body. Backends answer as testutil.VersionHandler does.
type Pin struct {
	Name    string
	Path    string
	Headers []string
	Status  int
	Served  string
	Body    string
}

// Pins are the negotiation and lifecycle cases at weight 0.
var Pins = []Pin{
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

// noRedirects is a client that returns 308s instead of following them.
func noRedirects() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// RunPins runs every Pin against base (the harness's URL, serving YAML at
// weight 0), then the redirect Location and the deprecation headers.
func RunPins(t *testing.T, base string) {
	c := noRedirects()
	for _, tc := range Pins {
		t.Run(tc.Name, func(t *testing.T) {
			status, served, body := testutil.Get(t, c, base+tc.Path, tc.Headers...)
			if status != tc.Status || served != tc.Served || !strings.Contains(body, tc.Body) {
				t.Fatalf("got %d served=%q body=%s; want %d served=%q body containing %s", status, served, body, tc.Status, tc.Served, tc.Body)
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
		resp, err := c.Get(base + "/v0.5/users/1?x=1")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); loc != "/v2/users/1?x=1" {
			t.Fatalf("Location = %q", loc)
		}
	})
	t.Run("deprecation headers", func(t *testing.T) {
		resp, err := c.Get(base + "/users/1")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := resp.Header
		if h.Get("Deprecation") == "" || h.Get("Sunset") != "Wed, 30 Jun 2027 00:00:00 GMT" || h.Get("Link") != `</v2/users/1>; rel="successor-version"` {
			t.Fatalf("lifecycle headers missing: %v", h)
		}
		resp, err = c.Get(base + "/v2/users/1")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Header.Get("Deprecation") != "" {
			t.Fatal("an active version must not carry Deprecation")
		}
	})
}

// Users is how many distinct users RunStickySplit sends.
const Users = 10000

// RunStickySplit sends Users distinct users through base (serving YAML at
// weight 10) three times: about 10 % reach v2 and nobody moves. Then
// raise must make base serve weight 30 (by rewriting the file: the
// harness's live configuration) and return once it does: about 30 % reach
// v2 and nobody who was on v2 moves back.
func RunStickySplit(t *testing.T, base string, raise func(t *testing.T)) {
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	defer c.CloseIdleConnections()
	assign := func() map[int]string {
		out := make(map[int]string, Users)
		for i := 0; i < Users; i++ {
			status, served, _ := testutil.Get(t, c, base+"/users/1", fmt.Sprintf("X-User-ID: user-%d", i))
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
		return float64(to) * 100 / Users
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
	raise(t)
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

// ReloadTimeout bounds how long a harness's raise waits for its reload.
const ReloadTimeout = 5 * time.Second
