package config

import (
	"slices"
	"strings"
	"testing"
)

// bodyYAML reads a version from the body of an HTTP service's requests and
// (wrongly) of a qn service's.
const bodyYAML = `upstreams:
  web: { targets: [http://127.0.0.1:9001] }
  dev: { targets: [tcp://127.0.0.1:7001] }
services:
  users:
    negotiate: { sources: [header, body], body: /api_version }
    default: v1
    versions: { v1: { upstream: web }, v2: { upstream: web } }
  devices:
    protocol: qn
    listen: 127.0.0.1:0
    negotiate: { body: /v }
    default: v1
    versions: { v1: { upstream: dev, speaks: v1 } }
`

// TestBodySourceRefusals: negotiate.body is refused by name and position
// by the appliers that cannot read a request body before routing (Envoy
// and proxyless gRPC) and, with the rest of negotiate, by the QN listener;
// the proxy and the middleware honour it.
func TestBodySourceRefusals(t *testing.T) {
	cfg, err := Decode("b.yaml", []byte(bodyYAML))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		a    Applier
		want []string
	}{
		{ApplierProxy, nil},
		{ApplierMiddleware, []string{"services.devices.protocol@10:15 kept"}},
		{ApplierEnvoy, []string{"services.users.negotiate.body@6:49"}},
		{ApplierGRPC, []string{"services.users.negotiate.body@6:49"}},
		{ApplierQN, []string{"services.devices.negotiate@12:16"}},
	} {
		var got []string
		for _, r := range cfg.Refusals(tc.a) {
			s := r.Key + "@" + strings.TrimPrefix(r.Pos.String(), "b.yaml:")
			if r.Kept {
				s += " kept"
			}
			if r.Why == "" || (strings.HasSuffix(r.Key, "negotiate.body") && !strings.Contains(r.Why, "body")) {
				t.Errorf("%s: %+v", tc.a, r)
			}
			got = append(got, s)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s refuses\n%q\nwant\n%q", tc.a, got, tc.want)
		}
	}
}

// TestBodySourceDefaults: negotiate.body without sources appends body to
// the default sources (last: every other source takes precedence), and
// max_body defaults to DefaultNegotiateBody.
func TestBodySourceDefaults(t *testing.T) {
	y := bodyYAML[:strings.Index(bodyYAML, "  devices:")]
	y = strings.Replace(y, "{ sources: [header, body], body: /api_version }", "{ body: /api_version }", 1)
	cfg, err := Parse("b.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	n := cfg.Services["users"].Negotiate
	if n.MaxBody != DefaultNegotiateBody {
		t.Errorf("max_body %d, want %d", n.MaxBody, DefaultNegotiateBody)
	}
	got := n.Sources
	if want := []string{SourceHeader, SourceAccept, SourcePath, SourceQuery, SourceBody}; !slices.Equal(got, want) {
		t.Errorf("sources %q, want %q", got, want)
	}
}
