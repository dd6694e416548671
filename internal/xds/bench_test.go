package xds

import (
	"testing"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/route"
)

// BenchmarkSnapshot is the work of one weight change for one node kind:
// translate, validate, hash and build the snapshot of testdata/basic.yaml.
func BenchmarkSnapshot(b *testing.B) {
	cfg, err := config.Load("testdata/basic.yaml")
	if err != nil {
		b.Fatal(err)
	}
	table, err := route.Compile(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		res, _ := Translate(table, Options{Kind: Envoy})
		if _, err := res.Snapshot(); err != nil {
			b.Fatal(err)
		}
	}
}
