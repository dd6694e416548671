package pipeline

import (
	"go/build"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/turnout-gw/turnout/"

// dataPlane are the packages the pipeline's users must not reach through
// it, and that the pipeline's concerns must not import for its interfaces.
var dataPlane = []string{"internal/proxy", "internal/upstream", "internal/gateway", "internal/h1server", "internal/store", "internal/xds"}

// imports returns the module's packages dir's non-test files import,
// directly or, with deep, through other packages of the module.
func imports(t *testing.T, dir string, deep bool) []string {
	t.Helper()
	seen := map[string]bool{}
	var walk func(dir string)
	walk = func(dir string) {
		pkg, err := build.ImportDir(dir, 0)
		if err != nil {
			t.Fatalf("reading %s: %v", dir, err)
		}
		for _, imp := range pkg.Imports {
			rel, ok := strings.CutPrefix(imp, module)
			if !ok || seen[rel] {
				continue
			}
			seen[rel] = true
			if deep {
				walk(filepath.Join("..", "..", rel))
			}
		}
	}
	walk(dir)
	out := make([]string, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// TestImports: proxy depends on the pipeline for Tap, never the reverse,
// and the pipeline links no data-plane package; mirror and contract/live
// no longer import proxy for its interfaces.
func TestImports(t *testing.T) {
	deps := imports(t, ".", true)
	for _, p := range dataPlane {
		if slices.Contains(deps, p) {
			t.Errorf("internal/pipeline depends on %s: %v", p, deps)
		}
	}
	for _, dir := range []string{"../mirror", "../contract/live"} {
		if imp := imports(t, dir, false); slices.Contains(imp, "internal/proxy") || !slices.Contains(imp, "internal/pipeline") {
			t.Errorf("%s imports %v: want internal/pipeline and not internal/proxy", dir, imp)
		}
	}
	if imp := imports(t, "../proxy", false); !slices.Contains(imp, "internal/pipeline") {
		t.Errorf("internal/proxy imports %v: want its Tap from internal/pipeline", imp)
	}
}
