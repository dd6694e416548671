package core

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/turnout-gw/turnout/internal/config"
)

// TestAdaptOperationsMatchTheDocument: an adapt operation must be one of the
// adapted version's OpenAPI operations when the version has a document.
func TestAdaptOperationsMatchTheDocument(t *testing.T) {
	dir := t.TempDir()
	doc, err := os.ReadFile(filepath.Join("..", "..", "examples", "openapi", "users-v1.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "v1.yaml"), doc, 0o644); err != nil {
		t.Fatal(err)
	}
	text := `upstreams:
  u2: {targets: ["http://127.0.0.1:1"]}
services:
  users:
    match: {path_prefix: /users}
    default: v1
    versions:
      v2: {upstream: u2}
      v1:
        served_by: v2
        openapi: v1.yaml
        adapt:
          operations:
            - {method: GET, path: /users, response: '.'}
            - {method: GET, path: /nope, response: '.'}
            - {method: PATCH, path: /users, response: '.'}
`
	file := filepath.Join(dir, "t.yaml")
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Check(cfg)
	if err == nil {
		t.Fatal("operations outside the document were accepted")
	}
	got := err.Error()
	for _, want := range []string{
		file + `:15:35: services.users.versions.v1.adapt.operations[1].path: "/nope" is not a path of v1's OpenAPI document`,
		file + `:16:24: services.users.versions.v1.adapt.operations[2].method: PATCH /users is not an operation`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("error lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "operations[0]") {
		t.Errorf("GET /users, an operation of the document, was refused:\n%s", got)
	}
}
