package xds

import (
	"strings"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"

	"github.com/turnout-gw/turnout/internal/negotiate"
)

func TestKindOf(t *testing.T) {
	for _, tc := range []struct {
		node *corev3.Node
		want Kind
	}{
		{&corev3.Node{Id: "edge-1", UserAgentName: "envoy"}, Envoy},
		{&corev3.Node{Id: "x", UserAgentName: "gRPC Go"}, GRPC},
		{&corev3.Node{Id: "x", UserAgentName: "gRPC Java"}, GRPC},
		{&corev3.Node{Id: "grpc-checkout-7"}, GRPC},
		{&corev3.Node{Id: "GRPC-upper"}, GRPC},
		{&corev3.Node{Id: "edge-grpc"}, Envoy},
		{nil, Envoy},
	} {
		if got := KindOf(tc.node); got != tc.want {
			t.Errorf("KindOf(%v) = %v, want %v", tc.node, got, tc.want)
		}
	}
	for _, s := range []string{"envoy", "grpc", "GRPC"} {
		if k, ok := ParseKind(s); !ok || k.String() != strings.ToLower(s) {
			t.Errorf("ParseKind(%q) = %v, %v", s, k, ok)
		}
	}
	if _, ok := ParseKind("istio"); ok {
		t.Error("ParseKind accepted istio")
	}
}

// TestSpellings: the values enumerated for a version are exactly those the
// resolver sends to it (a "2" that selects v2.1 is not a spelling of v2.0).
func TestSpellings(t *testing.T) {
	names := []string{"beta", "v1", "v2.0", "v2.1"}
	res := negotiate.NewResolver(names)
	want := map[string]string{
		"beta": "beta",
		"v1":   "v1 1 1.0 v1.0 1.0.0 v1.0.0",
		"v2.0": "v2.0 2.0 2.0.0 v2.0.0",
		"v2.1": "v2.1 2 v2 2.1 2.1.0 v2.1.0",
	}
	for i, n := range names {
		if got := strings.Join(spellings(res, i, n), " "); got != want[n] {
			t.Errorf("spellings of %s = %q, want %q", n, got, want[n])
		}
	}
	if got := pathSegRegex(res, 0, "beta"); got != "" {
		t.Errorf("path segment of beta = %q, want none", got)
	}
}
