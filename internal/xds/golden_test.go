package xds

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/route"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// goldenJSON renders what Translate gives both kinds of node for a
// configuration, with the warnings, as one JSON document:
// {"envoy": {"warnings": [...], "resources": {...}}, "grpc": {...}}.
func goldenJSON(t *testing.T, file string) []byte {
	t.Helper()
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	table, err := route.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	type kindOut struct {
		Warnings  []string        `json:"warnings"`
		Resources json.RawMessage `json:"resources"`
	}
	doc := map[string]kindOut{}
	for _, kind := range []Kind{Envoy, GRPC} {
		res, warns := Translate(table, Options{Kind: kind, EnvoyListen: cfg.XDS.EnvoyListen})
		if err := res.Validate(); err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if _, err := res.Snapshot(); err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		js, err := res.JSON()
		if err != nil {
			t.Fatal(err)
		}
		out := kindOut{Warnings: []string{}, Resources: js}
		for _, w := range warns {
			out.Warnings = append(out.Warnings, strings.TrimPrefix(w.Error(), filepath.Dir(file)+"/"))
		}
		doc[kind.String()] = out
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// TestGolden compares the translation of every testdata/*.yaml with its
// .json file (go test -update rewrites them). Every resource of every
// configuration passes Validate() and the snapshot is consistent.
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.yaml")
	if len(files) == 0 {
		t.Fatal("no golden configurations")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			got := goldenJSON(t, file)
			golden := strings.TrimSuffix(file, ".yaml") + ".json"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from %s; run go test -update and review the diff", file, golden)
			}
		})
	}
}
