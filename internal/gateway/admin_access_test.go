package gateway_test

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/gateway"
	"github.com/turnout-gw/turnout/internal/testutil"
	"github.com/turnout-gw/turnout/internal/testutil/testclock"
	"github.com/turnout-gw/turnout/internal/testutil/testpki"
)

const adminAccessYAML = `
admin:
  listen: 127.0.0.1:0
  token_env: TURNOUT_TEST_ADMIN_TOKEN
  tokens_file: {{TOKENS}}
  tls: { cert: {{CERT}}, key: {{KEY}} }
upstreams:
  v1: { targets: [{{V1}}] }
services:
  api:
    match: { path_prefix: / }
    default: v1
    versions: { v1: { upstream: v1 }, v2: { upstream: v1 } }
    rollout: { from: v1, to: v2, weight: 10 }
`

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// adminClient calls the admin API over HTTPS with a bearer token.
type adminClient struct {
	t    *testing.T
	base string
	hc   *http.Client
}

func (c adminClient) call(method, path, token string) (int, http.Header, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if method != http.MethodGet {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestAdminAccess: named tokens from a file, with roles: reads need a
// token once a tokens file is configured (health and the dashboard stay
// open), a viewer token cannot act (403), an operator can and the event
// names it; the token_env token still acts; wrong tokens are rate-limited
// per client IP (429 with Retry-After, recovering on the injected clock)
// while the right token from that address still passes;
// the tokens file is reloaded when it changes; the admin port speaks TLS.
func TestAdminAccess(t *testing.T) {
	dir := t.TempDir()
	ca := testpki.NewCA(t, dir, "admin")
	srv := ca.Server(t, dir, "admin-port")
	tokens := filepath.Join(dir, "tokens.yaml")
	writeTokens := func(extra string) {
		text := "tokens:\n" +
			"  - { name: alice, role: operator, sha256: " + sha("alice-secret") + " }\n" +
			"  - { name: grafana, role: viewer, token: viewer-secret }\n" + extra
		if err := os.WriteFile(tokens+".tmp", []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tokens+".tmp", tokens); err != nil {
			t.Fatal(err)
		}
	}
	writeTokens("")
	t.Setenv("TURNOUT_TEST_ADMIN_TOKEN", "env-secret")
	clk := testclock.New(time.Now())
	tt := testutil.StartWith(t, adminAccessYAML, map[string]string{"TOKENS": tokens, "CERT": srv.CertFile, "KEY": srv.KeyFile,
		"V1": testutil.VersionServer(t, "v1").URL}, gateway.AppOptions{Now: clk.Now})
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}
	t.Cleanup(tr.CloseIdleConnections)
	c := adminClient{t: t, base: "https://" + tt.App.Server.AdminAddr(), hc: &http.Client{Transport: tr, Timeout: 5 * time.Second}}

	t.Run("reads", func(t *testing.T) {
		for _, tc := range []struct {
			path, token string
			want        int
		}{
			{"/healthz", "", 200},
			{"/", "", 200},
			{"/api/v1/rollouts", "", 401},
			{"/metrics", "", 401},
			{"/api/v1/rollouts", "viewer-secret", 200},
			{"/api/v1/events", "alice-secret", 200},
			{"/metrics", "viewer-secret", 200},
		} {
			if code, _, body := c.call("GET", tc.path, tc.token); code != tc.want {
				t.Errorf("GET %s with %q = %d %s, want %d", tc.path, tc.token, code, body, tc.want)
			}
		}
	})
	t.Run("roles and actors", func(t *testing.T) {
		if code, _, body := c.call("POST", "/api/v1/rollouts/api/pause", "viewer-secret"); code != 403 || !strings.Contains(body, "operator") {
			t.Fatalf("viewer pause = %d %s, want 403 naming the operator role", code, body)
		}
		if code, _, body := c.call("POST", "/api/v1/rollouts/api/pause", ""); code != 401 {
			t.Fatalf("pause without a token = %d %s, want 401", code, body)
		}
		if code, _, body := c.call("POST", "/api/v1/rollouts/api/pause", "alice-secret"); code != 200 {
			t.Fatalf("operator pause = %d %s", code, body)
		}
		if code, _, body := c.call("POST", "/api/v1/rollouts/api/resume", "env-secret"); code != 200 {
			t.Fatalf("token_env resume = %d %s", code, body)
		}
		_, _, body := c.call("GET", "/api/v1/events?service=api", "viewer-secret")
		var list struct {
			Events []struct{ Type, Actor string } `json:"events"`
		}
		if err := json.Unmarshal([]byte(body), &list); err != nil {
			t.Fatal(err)
		}
		actors := map[string]bool{}
		for _, e := range list.Events {
			actors[e.Actor] = true
		}
		if !actors["api:alice"] || !actors["api:token_env"] {
			t.Errorf("event actors %v, want api:alice and api:token_env", actors)
		}
	})
	t.Run("tokens file reloaded", func(t *testing.T) {
		writeTokens("  - { name: bob, role: operator, token: bob-secret }\n")
		clk.Advance(2 * time.Second)
		if code, _, body := c.call("POST", "/api/v1/rollouts/api/pause", "bob-secret"); code != 200 {
			t.Fatalf("a token added to the file = %d %s, want 200", code, body)
		}
	})
	t.Run("failed authentications rate-limited, never the right token", func(t *testing.T) {
		for i := 0; i < 20; i++ {
			if code, _, _ := c.call("GET", "/api/v1/rollouts", "guess"); code != 401 {
				t.Fatalf("wrong token %d = %d, want 401", i, code)
			}
		}
		code, h, _ := c.call("GET", "/api/v1/rollouts", "guess")
		if code != 429 || h.Get("Retry-After") == "" {
			t.Fatalf("wrong token 21 = %d (Retry-After %q), want 429 with Retry-After", code, h.Get("Retry-After"))
		}
		if code, _, body := c.call("GET", "/api/v1/rollouts", "viewer-secret"); code != 200 {
			t.Fatalf("the right token while the address is limited = %d %s, want 200", code, body)
		}
		if code, _, body := c.call("POST", "/api/v1/rollouts/api/pause", "alice-secret"); code != 200 && code != 409 {
			t.Fatalf("an operator action while the address is limited = %d %s", code, body)
		}
		if code, _, _ := c.call("GET", "/api/v1/rollouts", "guess"); code != 429 {
			t.Fatalf("a wrong token after the right one = %d, want 429 still", code)
		}
		clk.Advance(3 * time.Second)
		if code, _, _ := c.call("GET", "/api/v1/rollouts", "guess"); code != 401 {
			t.Fatalf("a wrong token after the refill = %d, want 401", code)
		}
	})
	t.Run("admin port speaks TLS only", func(t *testing.T) {
		resp, err := http.Get("http://" + tt.App.Server.AdminAddr() + "/healthz")
		if err == nil {
			defer resp.Body.Close()
			if resp.StatusCode == 200 {
				t.Fatal("plain HTTP on the admin TLS port answered 200")
			}
		}
	})
}
