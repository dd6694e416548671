package middleware_test

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/testutil"
	"github.com/turnout-gw/turnout/internal/testutil/syncbuf"
	"github.com/turnout-gw/turnout/middleware"
)

// reloadYAML serves {{PREFIX}}; {{EXTRA}} is an extra line of the users
// service.
const reloadYAML = `
state: memory
upstreams:
  none: { targets: [http://127.0.0.1:9] }
services:
  users:
    match: { path_prefix: {{PREFIX}} }
    default: v1
    versions:
      v1: { upstream: none, openapi: users-v1.yaml }
      v2: { upstream: none }
    rollout: { from: v1, to: v2, weight: 0 }
{{EXTRA}}
`

// TestReloadRefusesKeys: a reload of a file with a key the middleware
// refuses (contract.validate_percent) is refused as New refuses it, by
// key and position, and the last good configuration keeps serving; the
// keys it keeps for the proxy (fallback, mirror) are logged, not refused.
func TestReloadRefusesKeys(t *testing.T) {
	dir := t.TempDir()
	spec, err := os.ReadFile("../examples/openapi/users-v1.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "users-v1.yaml"), spec, 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "turnout.yaml")
	write := func(prefix, extra string) {
		t.Helper()
		text := testutil.Expand(reloadYAML, map[string]string{"PREFIX": prefix, "EXTRA": extra})
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("/users", "")
	var logs syncbuf.Buffer
	mw, err := middleware.New(middleware.File(path), middleware.Versions{"v1": testutil.VersionHandler("v1"), "v2": testutil.VersionHandler("v2")},
		middleware.WithoutWatch(), middleware.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mw.Close() })
	served := func(path string) string {
		t.Helper()
		rec := httptest.NewRecorder()
		mw.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec.Header().Get("X-Served-Version")
	}
	write("/people", "    contract: { validate_percent: 10 }")
	err = mw.Reload()
	var ce *config.Error
	if !errors.As(err, &ce) || ce.Pos.Line != 13 || !strings.Contains(err.Error(), "services.users.contract.validate_percent") {
		t.Fatalf("Reload: %v, want a *config.Error naming services.users.contract.validate_percent at line 13", err)
	}
	if got, gone := served("/users/1"), served("/people/1"); got != "v1" || gone != "" {
		t.Fatalf("after a refused reload /users served by %q and /people by %q, want v1 and nothing (the last good configuration)", got, gone)
	}
	write("/people", "    fallback: true")
	if err := mw.Reload(); err != nil {
		t.Fatalf("Reload with fallback: %v, want it applied with a warning", err)
	}
	if got := served("/people/1"); got != "v1" {
		t.Fatalf("after reload /people served by %q, want v1", got)
	}
	if !strings.Contains(logs.String(), "key=services.users.fallback") {
		t.Errorf("fallback not warned about:\n%s", logs.String())
	}
}
