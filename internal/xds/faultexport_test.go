package xds

import (
	"net/http/httptest"
	"strings"
	"testing"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/route"
	"github.com/turnout-gw/turnout/internal/testutil/routecases/faultcases"
)

// envoyFault is the fault filter configuration Envoy applies to r sent to
// version: the most specific of the weighted cluster's and the route's.
func envoyFault(rt *routev3.Route, version string) *anypb.Any {
	for _, c := range rt.GetRoute().GetWeightedClusters().GetClusters() {
		if c.RequestHeadersToAdd[0].Header.Value == version {
			if f := c.TypedPerFilterConfig[FaultFilterName]; f != nil {
				return f
			}
		}
	}
	return rt.TypedPerFilterConfig[FaultFilterName]
}

// TestEnvoyFaultIsTheDecisions runs the shared fault cases against the
// Envoy route emulator: the fault filter configuration of the route (or
// weighted cluster) a request takes is the translation of the fault its
// route.Decision carries, the one the proxy and the middleware inject.
func TestEnvoyFaultIsTheDecisions(t *testing.T) {
	text := strings.NewReplacer("{{V1}}", "http://127.0.0.1:9001", "{{V2}}", "http://127.0.0.1:9002").Replace(faultcases.YAML)
	// an experiment across both versions under a rule without a fault of
	// its own: each arm keeps its version's
	text += `
      - name: ab
        match: { header: { X-Env: ab } }
        experiment: { arms: { v1: 50, v2: 50 } }
`
	table := compileYAML(t, "faults.yaml", text)
	res, _ := Translate(table, Options{Kind: Envoy}) // warnings name what Envoy cannot express; faults it can
	cases := append([]faultcases.Case{}, faultcases.Cases...)
	cases = append(cases, faultcases.Case{Name: "experiment arm", Headers: []string{"X-Env: ab"}})
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/users/1", nil)
			for _, h := range tc.Headers {
				k, v, _ := strings.Cut(h, ":")
				r.Header.Set(k, strings.TrimSpace(v))
			}
			d := table.Decide(r)
			rt := envoyRoute(res.Routes[0], r)
			if d.Status != 0 || rt == nil {
				t.Fatalf("decision %d, Envoy route %v", d.Status, rt)
			}
			versions := []*route.Version{d.Version}
			if d.Reason == route.ReasonExperiment {
				versions = versions[:0]
				for _, a := range d.Rule.Experiment.Arms {
					versions = append(versions, a.Version)
				}
			}
			for _, v := range versions {
				want := faultConfig(d.Rule.FaultFor(v))[FaultFilterName]
				if got := envoyFault(rt, v.Name); !proto.Equal(got, want) {
					t.Errorf("%s: Envoy injects %v, the decision %v", v.Name, got, want)
				}
			}
			if tc.Served != "" && tc.Aborted != (d.Fault != nil) { // the arm case names no version
				t.Errorf("decision fault %+v, case aborted %v", d.Fault, tc.Aborted)
			}
		})
	}
}

// TestContractValidationWarned: live contract validation is not silently
// dropped from the export: validate warns at the key.
func TestContractValidationWarned(t *testing.T) {
	cfg, err := config.Parse("contract.yaml", []byte(`
upstreams:
  u: { targets: [http://127.0.0.1:9001] }
services:
  users:
    match: { path_prefix: /users }
    default: v1
    versions:
      v1: { upstream: u, openapi: users-v1.yaml }
      v2: { upstream: u }
    rollout: { from: v1, to: v2, weight: 0 }
    contract: { validate_percent: 10 }
`))
	if err != nil {
		t.Fatal(err)
	}
	table, err := route.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	warns := Warnings(table)
	if len(warns) != 1 || !warns[0].Warning || warns[0].Pos.Line != 12 || !strings.Contains(warns[0].Msg, "services.users.contract.validate_percent") {
		t.Fatalf("warnings %v, want one at contract.yaml:12 naming services.users.contract.validate_percent", warns)
	}
}
