package cli

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden outputs of `turnout contract` under internal/contract/testdata")

// contractPairs are the OpenAPI pairs under internal/contract/testdata and
// the exit code `turnout contract OLD NEW` must give for each.
var contractPairs = []struct {
	name, old, new string
	exit           int
}{
	{"removed_response_field", "old.yaml", "new.yaml", 1},
	{"type_change", "old.yaml", "new.yaml", 1},
	{"new_required_request_field", "old.yaml", "new.yaml", 1},
	{"removed_enum_value", "old.yaml", "new.yaml", 1},
	{"removed_operation", "old.yaml", "new.yaml", 1},
	{"compatible_addition", "old.yaml", "new.yaml", 0},
	{"openapi31", "old.yaml", "new.json", 1},
	{"mixed_30_31", "old.yaml", "new.yaml", 0},
	{"file_refs", "old/openapi.yaml", "new/openapi.yaml", 1},
}

// TestContractGolden runs `turnout contract` on every pair in each output
// format and compares stdout with want.txt, want.json and want.md next to
// the pair. Run with -update to rewrite them, then review the diff.
func TestContractGolden(t *testing.T) {
	t.Chdir("../contract") // paths in the output read testdata/NAME/...
	for _, p := range contractPairs {
		for _, f := range []struct{ flag, ext string }{{"text", "txt"}, {"json", "json"}, {"markdown", "md"}} {
			t.Run(p.name+"/"+f.flag, func(t *testing.T) {
				dir := filepath.Join("testdata", p.name)
				code, out, errOut := run(t, "contract", "-o", f.flag, filepath.Join(dir, p.old), filepath.Join(dir, p.new))
				if code != p.exit {
					t.Errorf("exit %d, want %d; stderr:\n%s", code, p.exit, errOut)
				}
				if errOut != "" {
					t.Errorf("stderr: %s", errOut)
				}
				golden(t, filepath.Join(dir, "want."+f.ext), out)
			})
		}
	}
}

// TestContractInvalid: a document that cannot be read, parsed or validated
// is exit 2 with FILE[:LINE[:COL]]: message on stderr (testdata/invalid/
// NAME.golden), and nothing on stdout.
func TestContractInvalid(t *testing.T) {
	t.Chdir("../contract")
	files, err := filepath.Glob("testdata/invalid/*.*")
	if err != nil {
		t.Fatal(err)
	}
	var docs []string
	for _, f := range files {
		if !strings.HasSuffix(f, ".golden") {
			docs = append(docs, f)
		}
	}
	if len(docs) < 8 {
		t.Fatalf("found %d invalid documents, want at least 8", len(docs))
	}
	good := "testdata/compatible_addition/old.yaml"
	for _, doc := range append(docs, "testdata/invalid/does-not-exist.yaml") {
		name := strings.TrimSuffix(filepath.Base(doc), filepath.Ext(doc))
		t.Run(name, func(t *testing.T) {
			code, out, errOut := run(t, "contract", good, doc)
			if code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if out != "" {
				t.Errorf("stdout: %s", out)
			}
			if !strings.HasPrefix(errOut, doc+":") {
				t.Errorf("stderr does not start with %s:\n%s", doc, errOut)
			}
			golden(t, filepath.Join("testdata/invalid", name+".golden"), errOut)
		})
	}
}

func TestContractFlags(t *testing.T) {
	t.Chdir("../contract")
	mixed := []string{"testdata/openapi31/old.yaml", "testdata/openapi31/new.json"}
	for _, c := range []struct {
		args []string
		exit int
		want string
	}{
		{[]string{"contract", "--fail-on", "warn", "testdata/compatible_addition/old.yaml", "testdata/compatible_addition/new.yaml"}, 0, ""},
		{append([]string{"contract", "--fail-on", "WARN"}, mixed...), 1, ""},
		{[]string{"contract", "--fail-on", "INFO", "a", "b"}, 2, `--fail-on "INFO": want ERR or WARN`},
		{[]string{"contract", "-o", "yaml", "a", "b"}, 2, `--output "yaml": want text, json or markdown`},
		{[]string{"contract", "--bogus", "a", "b"}, 2, "unknown flag: --bogus"},
		{[]string{"contract", "only-one.yaml"}, 2, "usage: turnout contract OLD NEW"},
	} {
		code, _, errOut := run(t, c.args...)
		if code != c.exit || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", c.args, code, errOut, c.exit, c.want)
		}
	}
}

// golden compares got with the file at path (or rewrites it with -update).
func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run Contract -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}
