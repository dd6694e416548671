package gateway_test

import (
	"testing"

	"github.com/turnout-gw/turnout/internal/testutil"
)

const reloadYAML = `
upstreams:
  v1: { targets: [{{V1}}] }
services:
  api:
    match: { path_prefix: / }
    default: v1
    versions: { v1: { upstream: v1 }, v2: { upstream: v1 } }
    rollout: { from: v1, to: v2, weight: {{W}} }
`

// TestReloadUnchangedFile: a reload of the file as last applied (the
// watcher and an API call racing for the same edit) compiles and swaps
// nothing; a changed file is applied.
func TestReloadUnchangedFile(t *testing.T) {
	vars := map[string]string{"V1": testutil.VersionServer(t, "v1").URL, "W": "10"}
	tt := testutil.Start(t, reloadYAML, vars)
	g := tt.App.Configs

	vars["W"] = "20"
	tt.Rewrite(t, reloadYAML, vars)
	if err := g.Reload("test"); err != nil {
		t.Fatal(err)
	}
	first := g.Snapshot()
	if w := first.Table.Service("api").Rollout.Weight; w != 20 {
		t.Fatalf("weight %v after the edit, want 20", w)
	}
	for i := 0; i < 3; i++ {
		if err := g.Reload("test"); err != nil {
			t.Fatal(err)
		}
		if g.Snapshot() != first {
			t.Fatalf("reload %d of an unchanged file swapped the snapshot", i)
		}
	}
	vars["W"] = "30"
	tt.Rewrite(t, reloadYAML, vars)
	if err := g.Reload("test"); err != nil {
		t.Fatal(err)
	}
	if g.Snapshot() == first || g.Snapshot().Table.Service("api").Rollout.Weight != 30 {
		t.Fatal("a changed file was not applied")
	}
}

const reuseYAML = `
upstreams:
  v1: { targets: [{{V1}}] }
  v2: { targets: [{{V1}}] }
services:
  api:
    match: { path_prefix: / }
    default: v1
    versions: { v1: { upstream: v1 }, v2: { upstream: v1 } }
    rollout: { from: v1, to: v2, weight: {{W}} }
  other:
    match: { path_prefix: /other }
    default: v1
    versions: { v1: { upstream: {{U}} } }
`

// TestReloadReusesUnchangedServices: a reload compiles only the services
// it changed; an unchanged one keeps its compiled versions but takes the
// new weight and points at the new configuration.
func TestReloadReusesUnchangedServices(t *testing.T) {
	vars := map[string]string{"V1": testutil.VersionServer(t, "v1").URL, "W": "10", "U": "v1"}
	tt := testutil.Start(t, reuseYAML, vars)
	g := tt.App.Configs
	api, other := g.Snapshot().Table.Service("api"), g.Snapshot().Table.Service("other")

	vars["W"], vars["U"] = "20", "v2"
	tt.Rewrite(t, reuseYAML, vars)
	if err := g.Reload("test"); err != nil {
		t.Fatal(err)
	}
	tb := g.Snapshot().Table
	if s := tb.Service("api"); s.Version("v2") != api.Version("v2") || s.Rollout.Weight != 20 || s.Spec != g.Config().Services["api"] {
		t.Errorf("api: reused %v, weight %v, current spec %v; want reused, 20, true",
			s.Version("v2") == api.Version("v2"), s.Rollout.Weight, s.Spec == g.Config().Services["api"])
	}
	if s := tb.Service("other"); s.Version("v1") == other.Version("v1") || s.Version("v1").Upstream != "v2" {
		t.Error("other changed its version's upstream but was not compiled again")
	}
}
