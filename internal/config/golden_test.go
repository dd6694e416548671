package config

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the .golden files of testdata/invalid")

// TestInvalidGolden loads each testdata/invalid/*.yaml and compares the
// problems Load reports, one FILE:LINE:COL: message per line, with the
// .golden file next to it. Run with -update to rewrite the golden files, then
// review every line.
func TestInvalidGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 25 {
		t.Fatalf("found %d invalid configurations, want at least 25", len(files))
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			c, err := Load(file)
			if err == nil {
				t.Fatalf("Load(%s) = nil error, want problems", file)
			}
			if c != nil {
				t.Errorf("Load(%s) returned a config along with an error", file)
			}
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("Load(%s) error is %T, want Errors", file, err)
			}
			for _, e := range es {
				if e.Pos.File != file || e.Pos.Line < 1 || e.Pos.Col < 1 {
					t.Errorf("problem without a proper position: %v", e)
				}
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(file, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("Load(%s) problems differ from %s\ngot:\n%s\nwant:\n%s", file, golden, got, want)
			}
		})
	}
}

// TestValidConfigs loads each testdata/valid/*.yaml without error.
func TestValidConfigs(t *testing.T) {
	files, err := filepath.Glob("testdata/valid/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 3 {
		t.Fatalf("found %d valid configurations, want at least 3", len(files))
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			c, err := Load(file)
			if err != nil {
				t.Fatalf("Load(%s):\n%v", file, err)
			}
			// Defaults are idempotent and keep the configuration valid.
			c.ApplyDefaults()
			if err := c.Validate(); err != nil {
				t.Fatalf("Validate after ApplyDefaults again:\n%v", Flatten(err))
			}
		})
	}
}
