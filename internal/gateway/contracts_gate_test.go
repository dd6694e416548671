package gateway_test

import (
	"bytes"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/turnout-gw/turnout/internal/cli"
	"github.com/turnout-gw/turnout/internal/rollout"
	"github.com/turnout-gw/turnout/internal/testutil"
)

// adminDo sends one admin API request as the CLI and the dashboard do (a
// JSON Content-Type) and returns the status and the body.
func adminDo(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	return webRequest(t, method, url, "", body, map[string]string{"Content-Type": "application/json"})
}

// TestContractGateAfterPromotion: the contract gate applies after
// promotion too. A promoted rollout whose `to` document, changed on disk,
// breaks clients of `from` is held pending at weight 0 by the next reload,
// with a rollout_held event; `weight` and `resume` are then refused with
// the reason (409 from the API, exit 1 and the reason from the CLI), and
// unpinned traffic is back on `from`.
func TestContractGateAfterPromotion(t *testing.T) {
	dir := contractPair(t, "removed_operation")
	doc2 := filepath.Join(dir, "new.yaml")
	copyFile(t, filepath.Join("..", "contract", "testdata", "compatible_addition", "new.yaml"), doc2)
	vars := map[string]string{"V1": testutil.VersionServer(t, "v1").URL, "V2": testutil.VersionServer(t, "v2").URL,
		"DOC1": filepath.Join(dir, "old.yaml"), "DOC2": doc2, "STEP": "10"}
	tt := testutil.Start(t, contractYAML, vars)
	rollouts := tt.AdminURL + "/api/v1/rollouts/users"

	if code, body := adminDo(t, "POST", rollouts+"/promote", ""); code != http.StatusOK {
		t.Fatalf("promote = %d %s", code, body)
	}
	copyFile(t, filepath.Join("..", "contract", "testdata", "removed_operation", "new.yaml"), doc2)
	if code, body := adminDo(t, "POST", tt.AdminURL+"/api/v1/reload", ""); code != http.StatusOK {
		t.Fatalf("reload = %d %s", code, body)
	}
	const reason = "api removed without deprecation"
	var st rollout.Status
	testutil.GetJSON(t, rollouts, &st)
	if st.State != rollout.Pending || st.Weight != 0 || !strings.Contains(st.Reason, reason) {
		t.Fatalf("after the breaking change: %s at %v (%q), want held pending at 0", st.State, st.Weight, st.Reason)
	}
	if !hasEvent(t, tt.AdminURL, "rollout_held", reason) {
		t.Fatal("no rollout_held event naming the breaking change")
	}
	for i := 0; i < 20; i++ {
		if _, v, _ := testutil.Get(t, http.DefaultClient, tt.URL+"/users/1"); v != "v1" {
			t.Fatalf("request %d served by %q while the promoted rollout is held", i, v)
		}
	}
	for _, tc := range []struct{ method, path, body string }{
		{"PUT", "/weight", `{"weight": 50}`},
		{"POST", "/resume", ""},
		{"POST", "/promote", ""},
	} {
		if code, body := adminDo(t, tc.method, rollouts+tc.path, tc.body); code != http.StatusConflict || !strings.Contains(body, reason) {
			t.Errorf("%s %s while held = %d %s, want 409 with the reason", tc.method, tc.path, code, body)
		}
	}
	var stdout, stderr bytes.Buffer
	if code := cli.Main([]string{"weight", "users", "50", "--admin", tt.AdminURL}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), reason) {
		t.Fatalf("turnout weight users 50 while held: exit %d, stderr %q; want 1 with the reason", code, stderr.String())
	}
	testutil.GetJSON(t, rollouts, &st)
	if st.State != rollout.Pending || st.Weight != 0 {
		t.Fatalf("after the refused actions: %s at %v", st.State, st.Weight)
	}
}
