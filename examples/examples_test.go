package examples

import (
	"path/filepath"
	"testing"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/gateway"
)

// TestExamplesAreValid is `turnout validate -c FILE` for every example.
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
