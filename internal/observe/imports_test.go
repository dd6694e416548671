package observe_test

import (
	"context"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

const module = "github.com/turnout-gw/turnout/"

// goList runs go list -f format over pkgs (relative to the module) and
// returns its lines.
func goList(t *testing.T, format string, pkgs ...string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args := []string{"list", "-f", format}
	for _, p := range pkgs {
		args = append(args, module+p)
	}
	out, err := exec.CommandContext(ctx, "go", args...).Output()
	if err != nil {
		t.Fatalf("go %s: %v", strings.Join(args, " "), err)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

// TestShared: the shared small types are leaves, and the packages that
// measure, show or check the data plane's requests no longer import it for
// them. observe imports only internal/route of the module; snapshot
// neither links the proxy nor is imported by route; admin, telemetry,
// core, contract/live and mirror import observe or snapshot, never
// internal/proxy. The proxy itself takes both, so a move back would fail.
func TestShared(t *testing.T) {
	var mod []string
	for _, imp := range strings.Fields(goList(t, `{{join .Imports " "}}`, "internal/observe")[0]) {
		if strings.HasPrefix(imp, module) {
			mod = append(mod, strings.TrimPrefix(imp, module))
		}
	}
	if !slices.Equal(mod, []string{"internal/route"}) {
		t.Errorf("internal/observe imports %v of the module, want internal/route only", mod)
	}
	for _, dep := range goList(t, `{{join .Deps "\n"}}`, "internal/snapshot") {
		if dep == module+"internal/proxy" {
			t.Error("internal/snapshot links internal/proxy")
		}
	}
	users := []string{"internal/admin", "internal/telemetry", "internal/core", "internal/contract/live", "internal/mirror", "internal/proxy"}
	for _, line := range goList(t, `{{.ImportPath}} {{join .Imports " "}}`, users...) {
		f := strings.Fields(line)
		pkg, imps := strings.TrimPrefix(f[0], module), f[1:]
		if pkg != "internal/proxy" && slices.Contains(imps, module+"internal/proxy") {
			t.Errorf("%s imports internal/proxy", pkg)
		}
		if pkg == "internal/proxy" && (!slices.Contains(imps, module+"internal/observe") || !slices.Contains(imps, module+"internal/snapshot")) {
			t.Errorf("internal/proxy imports %v: want its observer types from internal/observe and its Snapshot from internal/snapshot", imps)
		}
	}
}
