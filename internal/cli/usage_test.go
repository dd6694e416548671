package cli

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/testutil/testclock"
	"github.com/turnout-gw/turnout/internal/usage"
)

// usageServer serves GET /api/v1/usage/{service} from a real tracker that
// counted: billing 3 requests to v1 (two operations), crm 1, and nobody v2.
func usageServer(t *testing.T) string {
	t.Helper()
	cfg, err := config.Parse("t.yaml", []byte(`
upstreams: {u: {targets: ["http://127.0.0.1:1"]}}
services:
  users:
    default: v2
    clients: {key: header:X-Client-ID}
    versions: {v1: {upstream: u}, v2: {upstream: u}}
`))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-2 * time.Hour)
	clk := testclock.New(at)
	tr := usage.New(usage.Options{Now: clk.Now})
	t.Cleanup(tr.Close)
	tr.Configure(cfg)
	for i, c := range []struct{ client, method, path string }{
		{"billing", "GET", "/users/1"}, {"billing", "GET", "/users/2"}, {"crm", "GET", "/users/3"}, {"billing", "POST", "/users"},
	} {
		r := httptest.NewRequest(c.method, c.path, nil)
		r.Header.Set("X-Client-ID", c.client)
		tr.Record("users", "v1", r, c.path)
		if i == 0 {
			clk.Advance(115 * time.Minute) // the rest five minutes ago
		}
	}
	mux := http.NewServeMux()
	mux.Handle("GET /api/v1/usage/{service}", tr)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestUsageTable(t *testing.T) {
	admin := usageServer(t)
	code, out, errOut := run(t, "usage", "users", "--admin", admin)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	want := []string{
		`^VERSION +CLIENT +REQUESTS +SHARE +FIRST SEEN +LAST SEEN +OPERATIONS$`,
		`^v1 +billing +3 +75\.0% +[12]h ago +[45]m ago +GET /users \(2\), POST /users \(1\)$`,
		`^v1 +crm +1 +25\.0% +[45]m ago +[45]m ago +GET /users \(1\)$`,
		`^v2 +- +0 +- +- +- +-$`,
	}
	if len(lines) != len(want) {
		t.Fatalf("want %d lines:\n%s", len(want), out)
	}
	for i, re := range want {
		if !regexp.MustCompile(re).MatchString(lines[i]) {
			t.Errorf("line %d %q does not match %s", i, lines[i], re)
		}
	}

	code, out, _ = run(t, "usage", "users", "--version", "v1", "--admin", admin, "-o", "json")
	var v usage.Version
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || v.Version != "v1" || v.Requests != 4 || len(v.Clients) != 2 {
		t.Fatalf("usage -o json: exit %d\n%s", code, out)
	}
	code, out, _ = run(t, "usage", "users", "--version", "v2", "--admin", admin)
	if code != 0 || strings.Count(out, "\n") != 2 {
		t.Errorf("usage --version v2: exit %d\n%s", code, out)
	}
	if code, _, errOut = run(t, "usage", "nope", "--admin", admin); code != 1 || !strings.Contains(errOut, `service "nope" is not configured`) {
		t.Errorf("unknown service: exit %d, %s", code, errOut)
	}
	if code, _, _ = run(t, "usage", "--admin", admin); code != 2 {
		t.Errorf("no service: exit %d, want 2", code)
	}
}
