package examples

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/gateway"
)

// TestExamplesAreValid is `turnout validate -c FILE` for every example.
// mtls.yaml is validated as a copy next to the files mtls/make-certs.sh
// makes, so the script is run too.
func TestExamplesAreValid(t *testing.T) {
	files, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 2 {
		t.Fatalf("found only %v", files)
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			if f == "mtls.yaml" {
				f = withCerts(t, f)
			}
			cfg, err := config.Load(f)
			if err == nil {
				err = gateway.Validate(cfg)
			}
			if err != nil {
				for _, e := range config.Flatten(err) {
					t.Error(e)
				}
			}
		})
	}
}

// withCerts copies the example into a temp directory, runs
// mtls/make-certs.sh to make the files it names there, and returns the
// copy's path.
func withCerts(t *testing.T, f string) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("bash", "mtls/make-certs.sh", filepath.Join(dir, "mtls")).CombinedOutput()
	if err != nil {
		t.Fatalf("mtls/make-certs.sh: %v\n%s", err, out)
	}
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	cp := filepath.Join(dir, f)
	if err := os.WriteFile(cp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return cp
}
