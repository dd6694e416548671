package config

import (
	"strings"
	"testing"
)

// TestAdaptValidate: served_by and adapt are checked for their names, their
// chains and their shape, each problem at its key.
func TestAdaptValidate(t *testing.T) {
	base := `
upstreams:
  u2: {targets: ["http://127.0.0.1:1"]}
services:
  users:
    match: {path_prefix: /users}
    default: v2
    versions:
      v2: {upstream: u2}
`
	for _, tc := range []struct{ name, extra, want string }{
		{"ok", "      v1: {served_by: v2, adapt: {request: '.', response: '.body |= .', max_body: 64KiB, on_unadaptable: pass}}\n", ""},
		{"unknown", "      v1: {served_by: v9}\n", `services.users.versions.v1.served_by: version "v9" is not declared`},
		{"self", "      v1: {served_by: v1}\n", "served_by: a version cannot be served by itself"},
		{"chain", "      v1: {served_by: v0}\n      v0: {served_by: v2}\n", `version "v0" is itself served_by v2`},
		{"both", "      v1: {served_by: v2, upstream: u2}\n", "versions.v1.upstream: a version served_by v2 uses that version's upstream"},
		{"adapt alone", "      v1: {upstream: u2, adapt: {request: '.'}}\n", "versions.v1.adapt: needs served_by"},
		{"choice", "      v1: {served_by: v2, adapt: {on_unadaptable: drop}}\n", `adapt.on_unadaptable: "drop" is not a choice`},
		{"op", "      v1: {served_by: v2, adapt: {operations: [{method: get, path: users}]}}\n", `adapt.operations[0].method: "get" must be written in upper case`},
		{"strict", "      v1: {served_by: v2, adapt: {reqest: '.'}}\n", `unknown key "reqest"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("a.yaml", []byte(base+tc.extra))
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			case tc.want != "" && !strings.HasPrefix(err.Error(), "a.yaml:"):
				t.Fatalf("error %v names no FILE:LINE:COL", err)
			}
		})
	}
}

// TestProgramPosAt: an offset into a program is placed at its line and
// column in the file, for plain, quoted and block values.
func TestProgramPosAt(t *testing.T) {
	text := `upstreams:
  u2: {targets: ["http://127.0.0.1:1"]}
services:
  users:
    match: {path_prefix: /users}
    default: v2
    versions:
      v2: {upstream: u2}
      v1:
        served_by: v2
        adapt:
          request: .body | foo
          response: '.body | bar'
          operations:
            - method: GET
              path: /users/{id}
              response: |
                .body
                | baz
`
	c, err := Parse("a.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	a := c.Services["users"].Versions["v1"].Adapt
	for _, tc := range []struct {
		p    Program
		word string
		want string
	}{
		{a.Request, "foo", "a.yaml:12:28"},
		{a.Response, "bar", "a.yaml:13:30"},
		{a.Operations[0].Response, "baz", "a.yaml:19:19"},
	} {
		if got := tc.p.PosAt(strings.Index(tc.p.Source, tc.word)).String(); got != tc.want {
			t.Errorf("%q in %q is at %s, want %s", tc.word, tc.p.Source, got, tc.want)
		}
	}
}

// TestAdaptRefusals: only the proxy applies served_by and adapt; every
// other applier refuses both, at their keys.
func TestAdaptRefusals(t *testing.T) {
	c, err := Parse("a.yaml", []byte(`
upstreams:
  u2: {targets: ["http://127.0.0.1:1"]}
services:
  users:
    match: {path_prefix: /users}
    default: v2
    versions:
      v2: {upstream: u2}
      v1: {served_by: v2, adapt: {response: '.'}}
`))
	if err != nil {
		t.Fatal(err)
	}
	if r := c.Refusals(ApplierProxy); len(r) != 0 {
		t.Fatalf("the proxy refuses %v", r)
	}
	for _, a := range []Applier{ApplierMiddleware, ApplierEnvoy, ApplierGRPC} {
		r := c.Refusals(a)
		if len(r) != 2 || r[0].Key != "services.users.versions.v1.served_by" || r[1].Key != "services.users.versions.v1.adapt" || r[0].Pos.String() != "a.yaml:10:23" || r[0].Kept {
			t.Fatalf("%s refusals %+v, want served_by and adapt", a, r)
		}
	}
}

// adaptProofYAML retires v1's backend: v1-legacy is the old backend, v1 is
// served by v2's upstream through an adapter and validated against its own
// document, and the mirror compares the two.
const adaptProofYAML = `
upstreams:
  u1: {targets: ["http://127.0.0.1:1"]}
  u2: {targets: ["http://127.0.0.1:2"]}
services:
  users:
    match: {path_prefix: /users}
    default: v1
    versions:
      v2: {upstream: u2}
      v1-legacy: {upstream: u1}
      v1: {served_by: v2, openapi: v1.yaml, adapt: {response: '.'}}
    mirror: {to: v1, compare: {}}
    contract: {validate_percent: 10}
`

// TestAdaptMirrorRefused: Envoy, which would mirror a copy to an adapted
// version unadapted, refuses mirror.to by name at its value; the proxy
// refuses nothing.
func TestAdaptMirrorRefused(t *testing.T) {
	c, err := Parse("a.yaml", []byte(adaptProofYAML))
	if err != nil {
		t.Fatal(err)
	}
	if r := c.Refusals(ApplierProxy); len(r) != 0 {
		t.Fatalf("the proxy refuses %v", r)
	}
	var found *Refusal
	for _, r := range c.Refusals(ApplierEnvoy) {
		if r.Key == "services.users.mirror.to" {
			found = &r
		}
	}
	if found == nil || found.Pos.String() != "a.yaml:13:18" || found.Kept || !strings.Contains(found.Why, "unadapted") {
		t.Fatalf("Envoy's mirror.to refusal %+v, want one at a.yaml:13:18", found)
	}
	plain := strings.Replace(adaptProofYAML, "mirror: {to: v1,", "mirror: {to: v2,", 1)
	if c, err = Parse("a.yaml", []byte(plain)); err != nil {
		t.Fatal(err)
	}
	for _, r := range c.Refusals(ApplierEnvoy) {
		if r.Key == "services.users.mirror.to" {
			t.Errorf("a mirror to a version with its own upstream refused: %+v", r)
		}
	}
}

// TestValidatePercentForAdapted: validate_percent needs no rollout when an
// adapted version has its own document, and a rollout to such a version
// needs no document on `from`; without either it is refused.
func TestValidatePercentForAdapted(t *testing.T) {
	if _, err := Parse("a.yaml", []byte(adaptProofYAML)); err != nil {
		t.Fatalf("an adapted version with a document: %v", err)
	}
	rollout := strings.Replace(adaptProofYAML, "    contract:", "    rollout: {from: v1-legacy, to: v1}\n    contract:", 1)
	if _, err := Parse("a.yaml", []byte(rollout)); err != nil {
		t.Fatalf("a rollout to an adapted version with a document: %v", err)
	}
	noDoc := strings.Replace(adaptProofYAML, " openapi: v1.yaml,", "", 1)
	_, err := Parse("a.yaml", []byte(noDoc))
	if err == nil || !strings.Contains(err.Error(), "a.yaml:14:34: services.users.contract.validate_percent: validates the answers of a rollout's `to` version, or of a version served_by another") {
		t.Fatalf("no document anywhere: %v", err)
	}
	_, err = Parse("a.yaml", []byte(strings.Replace(noDoc, "    contract:", "    rollout: {from: v1-legacy, to: v1}\n    contract:", 1)))
	if err == nil || !strings.Contains(err.Error(), "needs the OpenAPI document of v1-legacy, the rollout's from") {
		t.Fatalf("a rollout without documents: %v", err)
	}
}
