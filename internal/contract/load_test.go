package contract

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func mustLoad(t testing.TB, path string) *Document {
	t.Helper()
	d, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestLoadErrorPositions: every invalid document is a *LoadError naming the
// file, and the line and column where the parser or validator tells.
func TestLoadErrorPositions(t *testing.T) {
	for _, c := range []struct {
		file      string
		line, col int
		msg       string
	}{
		{"bad_yaml.yaml", 6, 0, "not valid YAML or JSON"},
		{"bad_json.json", 4, 14, "not valid JSON"},
		{"dangling_ref.yaml", 11, 31, `$ref "#/components/schemas/Missing" does not resolve`},
		{"missing_ref_file.yaml", 11, 31, "nowhere.yaml: cannot read"},
		{"remote_ref.yaml", 11, 31, "is remote"},
		{"bad_type.yaml", 11, 15, `unsupported 'type' value "strin"`},
		{"wrong_kind.yaml", 8, 24, "description must be a string, not a number"},
		{"swagger2.yaml", 1, 10, "OpenAPI 2"},
	} {
		t.Run(c.file, func(t *testing.T) {
			path := filepath.Join("testdata", "invalid", c.file)
			_, err := Load(path)
			var le *LoadError
			if !errors.As(err, &le) {
				t.Fatalf("error %T %v, want *LoadError", err, err)
			}
			if le.File != path || le.Line != c.line || le.Col != c.col || !strings.Contains(le.Msg, c.msg) {
				t.Fatalf("got %s:%d:%d %q, want %s:%d:%d ...%s...", le.File, le.Line, le.Col, le.Msg, path, c.line, c.col, c.msg)
			}
		})
	}
	if _, err := Load("testdata/invalid"); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("loading a directory: %v", err)
	}
}

// TestLoadFollowsLocalFiles: $refs to other files are read relative to the
// document; the hash covers them, so a change in any of them is seen.
func TestLoadFollowsLocalFiles(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join("testdata", "file_refs", "old")
	for _, f := range []string{"openapi.yaml", "parameters.yaml", "schemas/item.yaml"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		_ = os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d := mustLoad(t, filepath.Join(dir, "openapi.yaml"))
	if got := len(d.Files()); got != 3 {
		t.Fatalf("files %v, want the document and its two referenced files", d.Files())
	}
	if d.Changed() {
		t.Fatal("Changed right after Load")
	}
	item := filepath.Join(dir, "schemas", "item.yaml")
	b, _ := os.ReadFile(item)
	if err := os.WriteFile(item, []byte(strings.Replace(string(b), "type: number", "type: string", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if !d.Changed() {
		t.Fatal("a referenced file changed, Changed is false")
	}
	if d2 := mustLoad(t, filepath.Join(dir, "openapi.yaml")); d2.Hash == d.Hash {
		t.Fatal("same hash after a referenced file changed")
	}
}

func TestLoadVersions(t *testing.T) {
	for path, want := range map[string]bool{
		"testdata/openapi31/old.yaml":   true,
		"testdata/openapi31/new.json":   true,
		"testdata/mixed_30_31/old.yaml": false,
	} {
		d := mustLoad(t, path)
		if d.Is31() != want || !strings.HasPrefix(d.OpenAPI(), "3.") || d.Spec == nil {
			t.Errorf("%s: Is31 %v (openapi %s)", path, d.Is31(), d.OpenAPI())
		}
	}
}
