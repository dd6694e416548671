package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestXDSDump: `turnout xds dump` prints the resources of each node kind as
// JSON (the Envoy listener, or one api_listener per service for gRPC), and
// it and `turnout validate` print what Envoy cannot express as warnings.
func TestXDSDump(t *testing.T) {
	const file = "../xds/testdata/rules.yaml"
	for _, tc := range []struct {
		node      string
		listeners []string
		routes    int
	}{
		{"envoy", []string{"turnout_http"}, 1},
		{"grpc", []string{"cart"}, 0},
	} {
		t.Run(tc.node, func(t *testing.T) {
			code, out, errOut := run(t, "xds", "dump", "-c", file, "--node", tc.node)
			if code != 0 {
				t.Fatalf("exit %d; stderr:\n%s", code, errOut)
			}
			var res struct {
				Listeners []struct{ Name string } `json:"listeners"`
				Routes    []json.RawMessage       `json:"routes"`
				Clusters  []struct{ Name string } `json:"clusters"`
			}
			if err := json.Unmarshal([]byte(out), &res); err != nil {
				t.Fatalf("stdout is not JSON: %v\n%s", err, out)
			}
			var names []string
			for _, l := range res.Listeners {
				names = append(names, l.Name)
			}
			if strings.Join(names, ",") != strings.Join(tc.listeners, ",") || len(res.Routes) != tc.routes || len(res.Clusters) != 2 {
				t.Errorf("listeners %v, %d routes, %d clusters; want %v, %d, 2", names, len(res.Routes), len(res.Clusters), tc.listeners, tc.routes)
			}
			if !strings.Contains(errOut, `rules.yaml:29:24: warning: xds: services.cart.rules[3] (scripted): expr cannot be expressed in Envoy`) {
				t.Errorf("stderr lacks the expr warning:\n%s", errOut)
			}
		})
	}
	code, out, errOut := run(t, "validate", "-c", file)
	if code != 0 || !strings.Contains(out, "ok") || strings.Count(errOut, "warning: xds:") != 4 {
		t.Errorf("validate: exit %d, stdout %q, stderr:\n%s\nwant exit 0 and the 4 xds warnings", code, out, errOut)
	}
	if code, _, _ := run(t, "xds", "dump", "-c", file, "--node", "istio"); code != 2 {
		t.Errorf("--node istio: exit %d, want 2", code)
	}
}
