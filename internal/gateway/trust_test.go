package gateway_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/testutil"
)

// seen is an upstream that answers with what it received: its version,
// headers, cookies and query, and counts its requests.
type seen struct {
	mu   sync.Mutex
	hits int
	srv  *httptest.Server
}

func newSeen(t *testing.T, version string) *seen {
	s := &seen{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.hits++
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"version": version, "header": r.Header, "query": r.URL.RawQuery})
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *seen) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits
}

const trustYAML = `
upstreams:
  v1: { targets: [{{V1}}] }
  v2: { targets: [{{V2}}] }
trust:
  networks: [10.0.0.0/8]
  proxies: [127.0.0.1]
  pins: refuse
  strip: [header:X-Debug-Route]
  signature: { key_env: TURNOUT_TEST_COLOUR_KEY, max_age: 1m }
services:
  users:
    match: { path_prefix: /users }
    default: v1
    versions: { v1: { upstream: v1 }, v2: { upstream: v2 } }
    rules:
      - name: testers
        match: { header: { X-Env: canary } }
        version: v2
      - name: beta
        match: { cookie: { beta: "yes" } }
        version: v2
      - name: flag
        match: { query: { flavour: new } }
        version: v2
`

// answer is what the upstream reported.
type answer struct {
	Version string              `json:"version"`
	Header  map[string][]string `json:"header"`
	Query   string              `json:"query"`
}

func fetch(t *testing.T, r *http.Request) (int, answer) {
	t.Helper()
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a answer
	if resp.StatusCode == 200 {
		if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode, a
}

// TestTrustedColour: forged colour (headers, cookies, query parameters,
// pins) from an untrusted address neither changes routing nor reaches the
// upstream; the same values from a trusted address (behind a trusted
// proxy) or signed by the edge do.
func TestTrustedColour(t *testing.T) {
	const key = "edge-secret"
	t.Setenv("TURNOUT_TEST_COLOUR_KEY", key)
	v1, v2 := newSeen(t, "v1"), newSeen(t, "v2")
	tt := testutil.Start(t, trustYAML, map[string]string{"V1": v1.srv.URL, "V2": v2.srv.URL})
	untrusted, trusted := "X-Forwarded-For: 203.0.113.5", "X-Forwarded-For: 10.1.2.3"
	cases := []struct {
		name    string
		target  string
		headers []string
		sign    bool
		version string
		check   func(a answer) string // "" when fine
	}{
		{"untrusted header", "/users/1", []string{untrusted, "X-Env: canary", "X-Debug-Route: v2"}, false, "v1", func(a answer) string {
			if a.Header["X-Env"] != nil || a.Header["X-Debug-Route"] != nil {
				return "colour headers reached the upstream"
			}
			return ""
		}},
		{"untrusted cookie", "/users/1", []string{untrusted, "Cookie: session=abc; beta=yes; theme=dark"}, false, "v1", func(a answer) string {
			if got := strings.Join(a.Header["Cookie"], "|"); got != "session=abc; theme=dark" {
				return "cookie " + got
			}
			return ""
		}},
		{"untrusted query", "/users/1?page=2&flavour=new", []string{untrusted}, false, "v1", func(a answer) string {
			if a.Query != "page=2" {
				return "query " + a.Query
			}
			return ""
		}},
		{"untrusted pin", "/users/1", []string{untrusted, "X-API-Version: 2"}, false, "v1", func(a answer) string {
			if a.Header["X-Api-Version"] != nil {
				return "refused pin reached the upstream"
			}
			return ""
		}},
		{"untrusted path pin", "/v2/users/1", []string{untrusted}, false, "v1", nil},
		{"no proxy in between", "/users/1", []string{"X-Env: canary"}, false, "v1", nil},
		{"trusted header", "/users/1", []string{trusted, "X-Env: canary"}, false, "v2", func(a answer) string {
			if strings.Join(a.Header["X-Env"], "") != "canary" {
				return "trusted colour did not reach the upstream"
			}
			return ""
		}},
		{"trusted cookie", "/users/1", []string{trusted, "Cookie: beta=yes"}, false, "v2", nil},
		{"trusted query", "/users/1?flavour=new", []string{trusted}, false, "v2", nil},
		{"trusted pin", "/users/1", []string{trusted, "X-API-Version: 2"}, false, "v2", nil},
		{"signed colour", "/users/1", []string{untrusted, "X-Env: canary"}, true, "v2", func(a answer) string {
			if a.Header["X-Turnout-Colour-Sig"] != nil {
				return "the signature reached the upstream"
			}
			return ""
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := testutil.NewRequest(t, http.MethodGet, tt.URL+c.target, c.headers...)
			if c.sign {
				pol := tt.App.Configs.Snapshot().Trust
				r.Header.Set(pol.SignatureHeader(), pol.Sign(r, []byte(key), time.Now()))
			}
			status, a := fetch(t, r)
			if status != 200 || a.Version != c.version {
				t.Fatalf("status %d from %q, want 200 from %s", status, a.Version, c.version)
			}
			if c.check != nil {
				if msg := c.check(a); msg != "" {
					t.Error(msg)
				}
			}
		})
	}
	for source, want := range map[string]string{"header": "2", "cookie": "1", "query": "1", "pin": "2"} {
		line := `turnout_untrusted_colour_total{service="users",source="` + source + `"}`
		if got := testutil.Metric(t, tt, line); got != want {
			t.Errorf("%s = %q, want %s", line, got, want)
		}
	}
}
