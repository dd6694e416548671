package gateway_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/core"
	"github.com/turnout-gw/turnout/internal/rollout"
	"github.com/turnout-gw/turnout/internal/testutil"
)

const contractYAML = `
upstreams:
  u1: { targets: [{{V1}}] }
  u2: { targets: [{{V2}}] }
services:
  users:
    match: { path_prefix: /users }
    default: v1
    versions:
      v1: { upstream: u1, openapi: {{DOC1}} }
      v2: { upstream: u2, openapi: {{DOC2}} }
    rollout:
      from: v1
      to: v2
      steps: [{{STEP}}, 50, 100]
      step_interval: 1h
      require_compatible: true
`

// contractPair copies an OpenAPI pair from internal/contract/testdata into
// a temporary directory and returns the directory.
func contractPair(t *testing.T, pair string) string {
	t.Helper()
	dir := t.TempDir()
	for _, side := range []string{"old", "new"} {
		copyFile(t, filepath.Join("..", "contract", "testdata", pair, side+".yaml"), filepath.Join(dir, side+".yaml"))
	}
	return dir
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to+".tmp", b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(to+".tmp", to); err != nil {
		t.Fatal(err)
	}
}

// TestRequireCompatibleHoldsTheRollout: v2's document removes an operation
// v1's has; with require_compatible the rollout waits pending at weight 0
// with the breaking change as its reason, in the API and the events, and
// the report is served. Once v2's document is made compatible, a reload
// (of an unchanged configuration file) lets the rollout start.
func TestRequireCompatibleHoldsTheRollout(t *testing.T) {
	dir := contractPair(t, "removed_operation")
	vars := map[string]string{"V1": testutil.VersionServer(t, "v1").URL, "V2": testutil.VersionServer(t, "v2").URL,
		"DOC1": filepath.Join(dir, "old.yaml"), "DOC2": filepath.Join(dir, "new.yaml"), "STEP": "10"}
	tt := testutil.Start(t, contractYAML, vars)

	var st rollout.Status
	testutil.GetJSON(t, tt.AdminURL+"/api/v1/rollouts/users", &st)
	if st.State != rollout.Pending || st.Weight != 0 || !strings.Contains(st.Reason, "DELETE /users/{id}: api removed without deprecation") {
		t.Fatalf("rollout %s at %v, reason %q; want pending at 0 naming the breaking change", st.State, st.Weight, st.Reason)
	}
	for i := 0; i < 20; i++ {
		if _, v, _ := testutil.Get(t, http.DefaultClient, tt.URL+"/users/1"); v != "v1" {
			t.Fatalf("request %d served by %q while the rollout is held", i, v)
		}
	}
	var cv core.ContractView
	if code := testutil.GetJSON(t, tt.AdminURL+"/api/v1/contracts/users", &cv); code != http.StatusOK {
		t.Fatalf("GET contracts: %d", code)
	}
	raw, _ := json.Marshal(cv.Report)
	if !cv.Holds || !cv.RequireCompatible || cv.From != "v1" || cv.To != "v2" || len(cv.Versions) != 2 ||
		!strings.Contains(string(raw), `"id":"api-removed-without-deprecation"`) || !strings.Contains(string(raw), `"compatible":false`) {
		t.Fatalf("contracts view: %+v\nreport %s", cv, raw)
	}
	var notFound map[string]any
	if code := testutil.GetJSON(t, tt.AdminURL+"/api/v1/contracts/nope", &notFound); code != http.StatusNotFound {
		t.Fatalf("GET contracts of an unknown service: %d", code)
	}
	if !hasEvent(t, tt.AdminURL, "rollout_held", "api removed without deprecation") {
		t.Fatal("no rollout_held event naming the breaking change")
	}

	// v2's document becomes compatible; the configuration file does not
	// change, the reload still sees it.
	copyFile(t, filepath.Join("..", "contract", "testdata", "compatible_addition", "new.yaml"), filepath.Join(dir, "new.yaml"))
	if err := tt.App.Configs.Reload("test"); err != nil {
		t.Fatal(err)
	}
	testutil.GetJSON(t, tt.AdminURL+"/api/v1/rollouts/users", &st)
	if st.State != rollout.Progressing || st.Weight != 10 {
		t.Fatalf("after the fix: %s at %v (%s), want progressing at 10", st.State, st.Weight, st.Reason)
	}
	testutil.GetJSON(t, tt.AdminURL+"/api/v1/contracts/users", &cv)
	if cv.Holds || cv.Summary != "0 errors, 0 warnings, 5 info" {
		t.Fatalf("after the fix: holds %v, summary %q", cv.Holds, cv.Summary)
	}
	if !hasEvent(t, tt.AdminURL, "rollout_released", "") {
		t.Fatal("no rollout_released event")
	}
	testutil.Eventually(t, 5*time.Second, "v2 serving some unpinned requests", func() bool {
		for i := 0; i < 50; i++ {
			if _, v, _ := testutil.Get(t, http.DefaultClient, tt.URL+"/users/1"); v == "v2" {
				return true
			}
		}
		return false
	})
}

func hasEvent(t *testing.T, adminURL, typ, text string) bool {
	t.Helper()
	var evs struct {
		Events []struct {
			Type, Message string
		} `json:"events"`
	}
	testutil.GetJSON(t, adminURL+"/api/v1/events?service=users", &evs)
	for _, e := range evs.Events {
		if e.Type == typ && strings.Contains(e.Message, text) {
			return true
		}
	}
	return false
}

// TestContractReportsAreCached: a reload that changes the configuration but
// not the documents reuses the report; a broken document rejects the
// reload with an error at its openapi key, and the last good configuration
// keeps serving.
func TestContractReportsAreCached(t *testing.T) {
	dir := contractPair(t, "removed_operation")
	vars := map[string]string{"V1": testutil.VersionServer(t, "v1").URL, "V2": testutil.VersionServer(t, "v2").URL,
		"DOC1": "old.yaml", "DOC2": filepath.Join(dir, "new.yaml"), "STEP": "10"}
	tt := testutil.Start(t, strings.Replace(contractYAML, "openapi: {{DOC1}}", "openapi: "+filepath.Join(dir, "old.yaml"), 1), vars)
	g := tt.App.Configs
	first := g.Contracts().Service("users").Report
	vars["STEP"] = "5"
	tt.Rewrite(t, strings.Replace(contractYAML, "openapi: {{DOC1}}", "openapi: "+filepath.Join(dir, "old.yaml"), 1), vars)
	if err := g.Reload("test"); err != nil {
		t.Fatal(err)
	}
	if g.Contracts().Service("users").Report != first {
		t.Fatal("the report was recomputed though neither document changed")
	}

	// A relative path is resolved against the configuration file's
	// directory, where old.yaml does not exist.
	tt.Rewrite(t, contractYAML, vars)
	err := g.Reload("test")
	es := config.Flatten(err)
	text, _ := os.ReadFile(tt.Path)
	line := 1 + strings.Count(string(text[:strings.Index(string(text), "v1: { upstream: u1")]), "\n")
	if len(es) != 1 || es[0].Pos.File != tt.Path || es[0].Pos.Line != line ||
		!strings.Contains(es[0].Msg, "services.users.versions.v1.openapi: "+filepath.Join(filepath.Dir(tt.Path), "old.yaml")+": cannot read") {
		t.Fatalf("reload with a missing document: %v", err)
	}
	if g.Contracts().Service("users").Report != first {
		t.Fatal("a rejected reload replaced the contracts")
	}
}

// TestWatcherFollowsDocuments: the file watcher reloads when an OpenAPI
// document changes, not only the configuration file: fixing v2's document
// on disk releases the held rollout with no reload asked for.
func TestWatcherFollowsDocuments(t *testing.T) {
	dir := contractPair(t, "removed_operation")
	vars := map[string]string{"V1": testutil.VersionServer(t, "v1").URL, "V2": testutil.VersionServer(t, "v2").URL,
		"DOC1": filepath.Join(dir, "old.yaml"), "DOC2": filepath.Join(dir, "new.yaml"), "STEP": "10"}
	tt := testutil.Start(t, contractYAML, vars)
	var st rollout.Status
	testutil.GetJSON(t, tt.AdminURL+"/api/v1/rollouts/users", &st)
	if st.State != rollout.Pending {
		t.Fatalf("rollout %s, want pending", st.State)
	}
	copyFile(t, filepath.Join("..", "contract", "testdata", "compatible_addition", "new.yaml"), filepath.Join(dir, "new.yaml"))
	testutil.Eventually(t, 10*time.Second, "the rollout released by the watcher", func() bool {
		testutil.GetJSON(t, tt.AdminURL+"/api/v1/rollouts/users", &st)
		return st.State == rollout.Progressing && st.Weight == 10
	})
}
