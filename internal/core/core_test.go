package core_test

import (
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/core"
	"github.com/turnout-gw/turnout/internal/store"
	"github.com/turnout-gw/turnout/internal/testutil/wait"
)

// coreYAML routes /users to v1 by default; DEFAULT is replaced per test.
const coreYAML = `
upstreams:
  local: { targets: [http://127.0.0.1:9] }
state: memory
services:
  users:
    match: { path_prefix: /users }
    default: DEFAULT
    versions:
      v1: { upstream: local }
      v2: { upstream: local }
`

// startCore writes coreYAML with def as the default version and starts a
// core on it without pools; t.Cleanup stops it.
func startCore(t *testing.T, def string, o core.Options) (*core.Core, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "turnout.yaml")
	write(t, path, strings.ReplaceAll(coreYAML, "DEFAULT", def))
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	o.NoPools, o.Log = true, slog.New(slog.NewTextHandler(io.Discard, nil))
	c, err := core.Start(cfg, path, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Error(err)
		}
	})
	return c, path
}

// write replaces path's content atomically, as an editor would.
func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path+".tmp", []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
}

// chosen is the version the core's live table picks for GET /users/1.
func chosen(c *core.Core) string {
	d := c.Configs.Snapshot().Table.Decide(httptest.NewRequest("GET", "/users/1", nil))
	if d.Version == nil {
		return ""
	}
	return d.Version.Name
}

// events are the types of the core's event log, oldest first.
func events(t *testing.T, c *core.Core) []string {
	t.Helper()
	evs, err := c.Store.Events(store.EventQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

// TestCoreReloadSwap starts a core with no listener and no pool: a reload
// swaps the table, a broken file is refused with FILE:LINE:COL and an
// event while the last good table keeps deciding.
func TestCoreReloadSwap(t *testing.T) {
	c, path := startCore(t, "v1", core.Options{})
	if got := chosen(c); got != "v1" {
		t.Fatalf("at start: %q, want v1", got)
	}
	if n := len(c.Configs.Snapshot().Pools); n != 0 {
		t.Fatalf("NoPools core provisioned %d pools", n)
	}
	write(t, path, strings.ReplaceAll(coreYAML, "DEFAULT", "v2"))
	if err := c.Configs.Reload("api"); err != nil {
		t.Fatal(err)
	}
	if got := chosen(c); got != "v2" {
		t.Fatalf("after reload: %q, want v2", got)
	}
	write(t, path, strings.ReplaceAll(coreYAML, "DEFAULT", "v9"))
	err := c.Configs.Reload("api")
	var errs config.Errors
	if !errors.As(err, &errs) || !strings.Contains(err.Error(), path+":") {
		t.Fatalf("broken file: %v, want config errors naming %s:LINE:COL", err, path)
	}
	if got := chosen(c); got != "v2" {
		t.Fatalf("after a refused reload: %q, want the last good v2", got)
	}
	got := strings.Join(events(t, c), " ")
	if want := "config_reload config_reload config_rejected"; got != want {
		t.Fatalf("events %q, want %q", got, want)
	}
}

// TestCoreWatch: with Watch, an edit of the file is applied without any
// call, by the core's own watcher.
func TestCoreWatch(t *testing.T) {
	c, path := startCore(t, "v1", core.Options{Watch: true, Debounce: 20 * time.Millisecond})
	write(t, path, strings.ReplaceAll(coreYAML, "DEFAULT", "v2"))
	wait.For(t, 10*time.Second, "the watcher applies the edited file", func() bool { return chosen(c) == "v2" })
}

// TestCoreAdminRoutes: the core's admin API serves what the core owns
// (metrics, contracts, rollouts) and not the gateway's mirror diffs,
// which only a core started with Extensions.Diffs registers.
func TestCoreAdminRoutes(t *testing.T) {
	c, _ := startCore(t, "v1", core.Options{})
	for path, want := range map[string]int{
		"/metrics":                 200,
		"/api/v1/contracts":        200,
		"/api/v1/rollouts":         200,
		"/api/v1/services":         200,
		"/api/v1/diffs/users":      404,
		"/api/v1/contracts/users":  404, // no version sets openapi
		"/api/v1/deprecations/foo": 404,
	} {
		r := httptest.NewRequest("GET", path, nil)
		r.Host = "127.0.0.1"
		w := httptest.NewRecorder()
		c.Admin.ServeHTTP(w, r)
		if w.Code != want {
			t.Errorf("GET %s: %d, want %d (%s)", path, w.Code, want, w.Body)
		}
	}
}
