package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAdaptTest: `turnout adapt test` runs the example's adapter offline,
// picks the operation by method and path, and exits 1 with the error of a
// failing program.
func TestAdaptTest(t *testing.T) {
	dir := t.TempDir()
	sample := func(body string) string {
		p := filepath.Join(dir, "sample.json")
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cfg := filepath.Join("..", "..", "examples", "adapt.yaml")
	base := []string{"adapt", "test", "-c", cfg, "--service", "users", "--version", "v1"}

	code, out, errOut := run(t, append(base, "--path", "/users/7", "--sample", sample(`{"id": 7, "full_name": "Ada", "state": "ACTIVE"}`))...)
	var got struct {
		Status int            `json:"status"`
		Body   map[string]any `json:"body"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &got) != nil || got.Status != 200 || got.Body["name"] != "Ada" || got.Body["active"] != true || len(got.Body) != 3 {
		t.Fatalf("response stage: exit %d, %s %s", code, out, errOut)
	}

	code, out, errOut = run(t, append(base, "--path", "/users", "--sample", sample(`{"items": [{"id": 1, "full_name": "A", "state": "SUSPENDED"}]}`))...)
	if code != 0 || !strings.Contains(out, `"active": false`) || !strings.Contains(out, `"name": "A"`) {
		t.Fatalf("GET /users operation: exit %d, %s %s", code, out, errOut)
	}

	code, out, errOut = run(t, append(base, "--stage", "request", "--method", "PUT", "--path", "/users/7", "--sample", sample(`{"name": "Ada", "active": false}`))...)
	if code != 0 || !strings.Contains(out, `"path": "/accounts/7"`) || !strings.Contains(out, `"state": "SUSPENDED"`) {
		t.Fatalf("request stage: exit %d, %s %s", code, out, errOut)
	}

	code, _, errOut = run(t, append(base, "--path", "/users", "--sample", sample(`{"items": 3}`))...)
	if code != 1 || !strings.Contains(errOut, "adapting the response of version v1") {
		t.Fatalf("failing program: exit %d, %s", code, errOut)
	}
	code, _, errOut = run(t, "adapt", "test", "-c", cfg, "--service", "users", "--version", "v2")
	if code != 2 || !strings.Contains(errOut, "has no served_by") {
		t.Fatalf("version without adapter: exit %d, %s", code, errOut)
	}
}
