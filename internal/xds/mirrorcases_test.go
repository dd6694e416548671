package xds

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/route"
	"github.com/turnout-gw/turnout/internal/testutil/routecases/mirrorcases"
)

// envoyMirror returns the cluster Envoy copies a request taking rt to, ""
// for none, when its per-request draw is draw millionths: a request mirror
// policy copies when the draw is below its runtime fraction's default
// (Envoy reads no runtime override here).
func envoyMirror(t *testing.T, rt *routev3.Route, draw uint32) string {
	t.Helper()
	for _, mp := range rt.GetRoute().GetRequestMirrorPolicies() {
		fp := mp.GetRuntimeFraction().GetDefaultValue()
		if fp.GetDenominator() != typev3.FractionalPercent_MILLION {
			t.Fatalf("mirror policy denominator %v, the emulator reads millionths", fp.GetDenominator())
		}
		if draw < fp.GetNumerator() {
			return mp.GetCluster()
		}
	}
	return ""
}

// TestEnvoyMirrorCases runs the shared mirror cases (the ones the proxy
// runs) on the Envoy route emulator: the route a request takes must serve
// the case's version and copy it to v2's cluster when the case is mirrored,
// at the lowest and at the highest per-request draw (the same answer twice).
// A case the table marks refused for Envoy (a method list, a sticky key)
// must be named by a translation warning (envoyMirrorRefusal).
func TestEnvoyMirrorCases(t *testing.T) {
	text := strings.NewReplacer("{{V1}}", "http://127.0.0.1:9001", "{{V2}}", "http://127.0.0.1:9002").Replace(mirrorcases.YAML)
	cfg, err := config.Parse("mirrorcases.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	table, err := route.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, warns := Translate(table, Options{Kind: Envoy})
	for _, tc := range mirrorcases.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			r := httptest.NewRequest(tc.Method, tc.Path, nil)
			for _, h := range tc.Headers {
				k, v, _ := strings.Cut(h, ":")
				r.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
			}
			if tc.Key != "" {
				r.Header.Set("X-User-ID", tc.Key)
			}
			if got := envoyOutcome(res.Routes[0], r); got != tc.Served {
				t.Fatalf("Envoy routed to %s, want %s", got, tc.Served)
			}
			if tc.RefusedBy(mirrorcases.Envoy) {
				if err := envoyMirrorRefusal(warns, tc); err != nil {
					t.Fatal(err)
				}
				return
			}
			want := ""
			if tc.Mirrored {
				want = table.Service(tc.Service).Version("v2").Upstream
			}
			rt := envoyRoute(res.Routes[0], r)
			for _, draw := range []uint32{0, route.Buckets - 1} {
				if got := envoyMirror(t, rt, draw); got != want {
					t.Fatalf("draw %d: Envoy mirrored to %q, want %q", draw, got, want)
				}
			}
		})
	}
}

// envoyMirrorRefusal is how the Envoy export refuses a mirror case: it
// returns nil when a translation warning names the key Envoy cannot honour
// — the service's mirror.percent for a sticky case (Envoy draws per
// request), its mirror.methods otherwise (Envoy copies every method).
func envoyMirrorRefusal(warns config.Errors, tc mirrorcases.Case) error {
	key := fmt.Sprintf("services.%s.mirror.methods", tc.Service)
	if tc.Key != "" {
		key = fmt.Sprintf("services.%s.mirror.percent", tc.Service)
	}
	for _, w := range warns {
		if w.Warning && w.Pos.Line > 0 && strings.Contains(w.Msg, key+":") {
			return nil
		}
	}
	return fmt.Errorf("no translation warning names %s: %v", key, warns)
}
