package gateway_test

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/rollout"
	"github.com/turnout-gw/turnout/internal/testutil"
)

const adminWebYAML = `
admin: { listen: 127.0.0.1:0, token_env: TURNOUT_WEB_TEST_UNSET, hosts: [turnout-admin.example.com] }
upstreams:
  v1: { targets: [{{V1}}] }
services:
  api:
    match: { path_prefix: / }
    default: v1
    versions: { v1: { upstream: v1 }, v2: { upstream: v1 } }
    rollout: { from: v1, to: v2, weight: 10 }
`

// webRequest sends one request to url with the given Host ("" for url's)
// and headers (a browser's, or a script's) and returns the status and body.
func webRequest(t *testing.T, method, url, host, body string, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestAdminWithoutTokenRefusesWebPages: an admin API without any token
// (the default) still refuses what a web page in the operator's browser can
// send: a cross-origin text/plain POST (415), a JSON one from another
// origin (403), and any request naming a foreign Host (DNS rebinding, 403)
// — reads, the dashboard, /metrics and PUT weight alike — while /healthz
// answers any Host, and the port's own names (127.0.0.1:PORT,
// localhost:PORT, [::1]:PORT, admin.hosts) with same-origin or no Origin
// and a JSON Content-Type act. The rollout moves only for those.
func TestAdminWithoutTokenRefusesWebPages(t *testing.T) {
	t.Setenv("TURNOUT_WEB_TEST_UNSET", "")
	tt := testutil.Start(t, adminWebYAML, map[string]string{"V1": testutil.VersionServer(t, "v1").URL})
	addr := tt.App.Server.AdminAddr()
	_, port, _ := net.SplitHostPort(addr)
	weight := func() float64 {
		var st rollout.Status
		testutil.GetJSON(t, tt.AdminURL+"/api/v1/rollouts/api", &st)
		return st.Weight
	}
	json := map[string]string{"Content-Type": "application/json"}
	evil := "evil.example:" + port

	refused := []struct {
		name, method, path, host, body string
		header                         map[string]string
		want                           int
	}{
		{"cross-origin text/plain promote", "POST", "/api/v1/rollouts/api/promote", "", `{}`,
			map[string]string{"Content-Type": "text/plain", "Origin": "http://evil.example"}, 403},
		{"text/plain promote without Origin", "POST", "/api/v1/rollouts/api/promote", "", `{}`,
			map[string]string{"Content-Type": "text/plain"}, 415},
		{"form promote", "POST", "/api/v1/rollouts/api/promote", "", `a=b`,
			map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415},
		{"promote without Content-Type", "POST", "/api/v1/rollouts/api/promote", "", ``, nil, 415},
		{"JSON weight from another origin", "PUT", "/api/v1/rollouts/api/weight", "", `{"weight": 50}`,
			map[string]string{"Content-Type": "application/json", "Origin": "http://localhost:3000"}, 403},
		{"JSON weight from a sandboxed page", "PUT", "/api/v1/rollouts/api/weight", "", `{"weight": 50}`,
			map[string]string{"Content-Type": "application/json", "Origin": "null"}, 403},
		{"rebound PUT weight", "PUT", "/api/v1/rollouts/api/weight", evil, `{"weight": 50}`,
			map[string]string{"Content-Type": "application/json", "Origin": "http://" + evil}, 403},
		{"rebound promote without Origin", "POST", "/api/v1/rollouts/api/promote", evil, ``, json, 403},
		{"rebound read", "GET", "/api/v1/rollouts", evil, ``, nil, 403},
		{"rebound dashboard", "GET", "/", evil, ``, nil, 403},
		{"rebound metrics", "GET", "/metrics", evil, ``, nil, 403},
		{"rebound unknown path", "GET", "/nope", evil, ``, nil, 403},
		{"a name like an address", "GET", "/api/v1/rollouts", "127.0.0.1.nip.io:" + port, ``, nil, 403},
	}
	for _, tc := range refused {
		if code, body := webRequest(t, tc.method, tt.AdminURL+tc.path, tc.host, tc.body, tc.header); code != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, code, body, tc.want)
		}
	}
	if w := weight(); w != 10 {
		t.Fatalf("weight %v after the refused requests, want 10", w)
	}

	if code, body := webRequest(t, "GET", tt.AdminURL+"/healthz", evil, "", nil); code != 200 {
		t.Errorf("/healthz with any Host = %d %s, want 200", code, body)
	}
	for i, host := range []string{"", "127.0.0.1:" + port, "localhost:" + port, "LOCALHOST:" + port, "[::1]:" + port,
		"turnout-admin.example.com", "turnout-admin.example.com:" + port} {
		for _, path := range []string{"/api/v1/rollouts", "/", "/metrics"} {
			if code, body := webRequest(t, "GET", tt.AdminURL+path, host, "", nil); code != 200 {
				t.Errorf("GET %s with Host %q = %d %s, want 200", path, host, code, body)
			}
		}
		origin := map[string]string{"Content-Type": "application/json; charset=utf-8"}
		if host != "" {
			origin["Origin"] = "http://" + host
		}
		w := 20 + i
		if code, body := webRequest(t, "PUT", tt.AdminURL+"/api/v1/rollouts/api/weight", host, `{"weight": `+strconv.Itoa(w)+`}`, origin); code != 200 {
			t.Errorf("PUT weight with Host %q, Origin %q = %d %s, want 200", host, origin["Origin"], code, body)
		} else if got := weight(); got != float64(w) {
			t.Errorf("weight %v, want %d", got, w)
		}
	}
	if code, body := webRequest(t, "POST", tt.AdminURL+"/api/v1/rollouts/api/pause", "127.0.0.1:"+port, "",
		map[string]string{"Content-Type": "application/json", "Origin": "https://turnout-admin.example.com"}); code != 200 {
		t.Errorf("an action from a page of an admin.hosts name = %d %s, want 200", code, body)
	}
}
