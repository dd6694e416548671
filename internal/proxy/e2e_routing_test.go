package proxy_test

import (
	"testing"

	"github.com/turnout-gw/turnout/internal/testutil"
	"github.com/turnout-gw/turnout/internal/testutil/routecases"
	"github.com/turnout-gw/turnout/internal/testutil/routecases/trustcases"
)

// The negotiation and split cases are shared with the in-process
// middleware (internal/testutil/routecases); this is the proxy's harness:
// a whole Turnout on a real listener in front of two real upstreams.

func startRouting(t *testing.T, weight string) (*testutil.Turnout, map[string]string) {
	v1 := testutil.VersionServer(t, "v1")
	v2 := testutil.VersionServer(t, "v2")
	vars := map[string]string{"V1": v1.URL, "V2": v2.URL, "WEIGHT": weight}
	return testutil.Start(t, routecases.YAML, vars), vars
}

// TestE2EPinning drives every negotiation source and lifecycle answer
// through a real listener.
func TestE2EPinning(t *testing.T) {
	tt, _ := startRouting(t, "0")
	routecases.RunPins(t, tt.URL)
}

// TestE2EStickySplit sends 10,000 distinct users through a 90/10 split three
// times, then raises the weight 10 → 30 by rewriting the file.
func TestE2EStickySplit(t *testing.T) {
	tt, vars := startRouting(t, "10")
	routecases.RunStickySplit(t, tt.URL, func(t *testing.T) {
		vars["WEIGHT"] = "30"
		tt.Rewrite(t, routecases.YAML, vars)
		testutil.Eventually(t, routecases.ReloadTimeout, "reload to weight 30", func() bool {
			return tt.App.Configs.Snapshot().Table.Service("users").Rollout.Weight == 30
		})
	})
}

// TestE2EFaults: the fault each decision carries is injected by the proxy
// (the middleware runs the same cases).
func TestE2EFaults(t *testing.T) {
	v1 := testutil.VersionServer(t, "v1")
	v2 := testutil.VersionServer(t, "v2")
	tt := testutil.Start(t, routecases.FaultYAML, map[string]string{"V1": v1.URL, "V2": v2.URL})
	routecases.RunFaults(t, tt.URL)
}

// TestE2ETrust: the trust cases (trusted, untrusted, signed, refused and
// allowed pins) through the proxy (the middleware and the Envoy export
// run the same cases).
func TestE2ETrust(t *testing.T) {
	t.Setenv(trustcases.KeyEnv, trustcases.Key)
	v1 := testutil.VersionServer(t, "v1")
	v2 := testutil.VersionServer(t, "v2")
	vars := routecases.TrustVars(v1.URL, v2.URL)
	tt := testutil.Start(t, routecases.TrustYAML, vars)
	routecases.RunTrust(t, tt.URL, trustcases.Proxy, vars)
}

// TestE2EMirror: the mirror cases (method, percent, the mirror's own
// version, sticky key) through the proxy, whose copies reach a real mirror
// target that counts them (the Envoy export runs the same cases; the
// middleware and QN refuse `mirror`).
func TestE2EMirror(t *testing.T) {
	v1 := testutil.VersionServer(t, "v1")
	v2 := routecases.NewMirrorTarget(t)
	tt := testutil.Start(t, routecases.MirrorYAML, routecases.MirrorVars(v1.URL, v2.URL))
	routecases.RunMirror(t, tt, v2)
}
