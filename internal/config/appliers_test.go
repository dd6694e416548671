package config

import (
	"slices"
	"strings"
	"testing"
)

// appliersYAML asks for something of every applier's refusals.
const appliersYAML = `upstreams:
  web: { targets: [https://127.0.0.1:9443], tls: { ca: ca.pem } }
  dev: { targets: [tcp://127.0.0.1:7001] }
services:
  users:
    match: { path_prefix: /users }
    default: v1
    versions: { v1: { upstream: web, openapi: v1.yaml }, v2: { upstream: web } }
    rules:
      - { name: scripted, match: { expr: 'header("x") == "y"' }, version: v2 }
      - { name: flag, match: { query: { f: "1" } }, version: v2 }
    rollout: { from: v1, to: v2, weight: 0 }
    fallback: true
    mirror: { to: v2 }
    contract: { validate_percent: 5 }
    clients: { key: address }
  devices:
    protocol: qn
    listen: 127.0.0.1:0
    default: v1
    versions: { v1: { upstream: dev, speaks: v1 } }
`

// TestRefusals: the applier table refuses, per applier, the keys it
// cannot honour, each at its position; the proxy honours every key.
func TestRefusals(t *testing.T) {
	cfg, err := Decode("a.yaml", []byte(appliersYAML))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		a    Applier
		want []string // KEY@LINE:COL of the value, and "kept" for a run-time warning
	}{
		{ApplierProxy, nil},
		{ApplierMiddleware, []string{"services.devices.protocol@18:15 kept", "services.users.fallback@13:15 kept",
			"services.users.mirror@14:13 kept", "services.users.contract.validate_percent@15:35"}},
		{ApplierEnvoy, []string{"upstreams.web.tls@2:56", "services.users.rules[0] (scripted)@10:42",
			"services.users.fallback@13:15", "services.users.clients@16:14", "services.users.contract.validate_percent@15:35"}},
		{ApplierGRPC, []string{"upstreams.web@2:19", "services.users.rules[0] (scripted)@10:42", "services.users.rules[1] (flag)@11:39",
			"services.users.fallback@13:15", "services.users.mirror@14:13", "services.users.clients@16:14", "services.users.contract.validate_percent@15:35"}},
		{ApplierQN, nil},
	} {
		var got []string
		for _, r := range cfg.Refusals(tc.a) {
			s := r.Key + "@" + strings.TrimPrefix(r.Pos.String(), "a.yaml:")
			if r.Kept {
				s += " kept"
			}
			if r.Applier != tc.a || r.Why == "" {
				t.Errorf("%s: %+v", tc.a, r)
			}
			got = append(got, s)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s refuses\n%q\nwant\n%q", tc.a, got, tc.want)
		}
	}
	qn := strings.Replace(appliersYAML, "    default: v1\n    versions: { v1: { upstream: dev, speaks: v1 } }",
		"    default: v1\n    limits: { max_in_flight: 5 }\n    clients: { key: address }\n    versions: { v1: { upstream: dev, speaks: v1, fault: { abort: { percent: 1, status: 503 } } } }", 1)
	cfg, err = Decode("a.yaml", []byte(qn))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range cfg.Refusals(ApplierQN) {
		got = append(got, r.Key+"@"+strings.TrimPrefix(r.KeyPos.String(), "a.yaml:"))
	}
	if want := []string{"services.devices.limits@21:5", "services.devices.clients@22:5", "services.devices.versions.v1.fault@23:50"}; !slices.Equal(got, want) {
		t.Errorf("qn refuses %q, want %q", got, want)
	}
}

// TestParseApplier: every applier by name, anything else an error.
func TestParseApplier(t *testing.T) {
	for _, a := range Appliers {
		if got, err := ParseApplier(string(a)); err != nil || got != a {
			t.Errorf("%s: %v %v", a, got, err)
		}
	}
	if _, err := ParseApplier("istio"); err == nil {
		t.Error("istio accepted")
	}
}
