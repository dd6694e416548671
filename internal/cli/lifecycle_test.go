package cli

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/gateway"
	"github.com/turnout-gw/turnout/internal/lifecycle"
	"github.com/turnout-gw/turnout/internal/store"
	"github.com/turnout-gw/turnout/internal/testutil"
	"github.com/turnout-gw/turnout/internal/testutil/testclock"
	"github.com/turnout-gw/turnout/internal/testutil/wait"
)

const lifecycleYAML = `
log: { level: error }
state: {{STATE}}
admin: { listen: 127.0.0.1:0, token_env: TURNOUT_TEST_LIFECYCLE_TOKEN }
upstreams:
  u: { targets: [{{U}}] }
services:
  users:
    match: { path_prefix: /users }
    clients: { key: header:X-Client }
    default: v2
    versions:
      v2: { upstream: u }
      v1:
        upstream: u
        schedule: [ { at: 2027-01-15, lifecycle: deprecated }, { at: 2027-04-01, lifecycle: gone } ]
        hold_while: { requests: 1, window: 10m }
`

// TestLifecycleForce: `turnout lifecycle users` shows the held gone step
// and the clients still calling; `turnout lifecycle users v1 --force`
// needs the token, applies it and the event names the actor.
func TestLifecycleForce(t *testing.T) {
	t.Setenv("TURNOUT_TEST_LIFECYCLE_TOKEN", "s3cret")
	clk := testclock.New(time.Date(2027, 3, 31, 23, 58, 0, 0, time.UTC))
	tt := testutil.StartWith(t, lifecycleYAML, map[string]string{"STATE": filepath.Join(t.TempDir(), "state.db"),
		"U": testutil.VersionServer(t, "u").URL}, gateway.AppOptions{Now: clk.Now, Tick: 10 * time.Millisecond})
	for range 5 { // client-a calls v1 two minutes before gone is due
		req, _ := http.NewRequest(http.MethodGet, tt.URL+"/users/1", nil)
		req.Header.Set("X-API-Version", "v1")
		req.Header.Set("X-Client", "client-a")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	clk.Advance(2 * time.Minute)

	wait.For(t, 10*time.Second, "the gone step held", func() bool {
		code, out, _ := run(t, "lifecycle", "users", "--admin", tt.AdminURL)
		return code == 0 && strings.Contains(out, "deprecated  gone") &&
			strings.Contains(out, "2027-04-01T00:00:00Z  held: v1 still called: 5 requests in the last 10m by client-a")
	})
	if code, _, errOut := run(t, "lifecycle", "users", "--force", "--admin", tt.AdminURL); code == 0 || !strings.Contains(errOut, "name the version") {
		t.Fatalf("--force without VERSION: exit %d, %s", code, errOut)
	}
	if code, _, errOut := run(t, "lifecycle", "users", "v1", "--force", "--admin", tt.AdminURL); code == 0 || !strings.Contains(errOut, "refused the token") {
		t.Fatalf("--force without the token: exit %d, %s", code, errOut)
	}
	t.Setenv(EnvAdminToken, "s3cret")
	code, out, errOut := run(t, "lifecycle", "users", "v1", "--force", "--admin", tt.AdminURL)
	if code != 0 || out != "users v1: now gone (forced by force:api:token_env)\n" {
		t.Fatalf("--force: exit %d, %q %s", code, out, errOut)
	}
	evs, err := tt.App.Core.Store.Events(store.EventQuery{Service: "users"})
	if err != nil {
		t.Fatal(err)
	}
	last := evs[len(evs)-1]
	if last.Type != lifecycle.EventChanged || last.Actor != "force:api:token_env" || last.Fields["to"] != "gone" ||
		!strings.Contains(last.Message, "forced over: held: v1 still called") {
		t.Fatalf("last event: %+v", last)
	}
	if code, _, errOut := run(t, "lifecycle", "users", "v1", "--force", "--admin", tt.AdminURL); code == 0 || !strings.Contains(errOut, "no step left") {
		t.Fatalf("forcing again: exit %d, %s", code, errOut)
	}
}
