package xds

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/route"
	"github.com/turnout-gw/turnout/internal/testutil/xdsclient"
	"github.com/turnout-gw/turnout/internal/trust"
)

// grpcRoutes returns the route configuration of service's api_listener
// in a proxyless gRPC export.
func grpcRoutes(t *testing.T, res *Resources, service string) *routev3.RouteConfiguration {
	t.Helper()
	for _, l := range res.Listeners {
		if l.Name != service {
			continue
		}
		var hcm hcmv3.HttpConnectionManager
		if err := l.GetApiListener().GetApiListener().UnmarshalTo(&hcm); err != nil {
			t.Fatal(err)
		}
		return hcm.GetRouteConfig()
	}
	t.Fatalf("no api_listener for %s", service)
	return nil
}

// compileYAML parses text as file name and compiles it.
func compileYAML(t *testing.T, name, text string) *route.Table {
	t.Helper()
	cfg, err := config.Parse(name, []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	table, err := route.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return table
}

// compileTrust compiles text, a variant of trustYAML, without its trust
// block unless withTrust.
func compileTrust(t *testing.T, text string, withTrust bool) *route.Table {
	t.Helper()
	if !withTrust {
		text = text[:strings.Index(text, "trust:")] + text[strings.Index(text, "services:"):]
	}
	return compileYAML(t, "trust.yaml", text)
}

// TestGRPCTrust: a proxyless gRPC client is the application itself, so
// under a trust block it is untrusted: its pins to a service that refuses
// untrusted pins and its colour (headers, cookies, query parameters the
// policy strips) do not change the route it takes; a pin to a service
// that allows pins and a rule on the path still do. Every outcome is what
// Turnout gives the same request from an untrusted client; without a
// trust block the pins and colour are honoured.
func TestGRPCTrust(t *testing.T) {
	cases := []struct {
		name, path string
		headers    []string
		want       string // under trust
		open       string // without a trust block
	}{
		{"header pin", "/users/1", []string{"X-API-Version: 2"}, "v1", "v2"},
		{"bad pin", "/users/1", []string{"X-API-Version: 9"}, "v1", "406"},
		{"header colour", "/users/1", []string{"X-Env: canary"}, "v1", "v2"},
		{"cookie colour", "/users/1", []string{"Cookie: beta=yes"}, "v1", "v2"},
		{"forged signature", "/users/1", []string{"X-Env: canary", "X-Turnout-Colour-Sig: t=1800000000,h=00"}, "v1", "v2"},
		{"path rule", "/users/beta/1", nil, "v2", "v2"},
		{"allowed pin", "/open/1", []string{"X-API-Version: 2"}, "v2", "v2"},
		{"no pin", "/users/1", nil, "v1", "v1"},
	}
	for _, withTrust := range []bool{true, false} {
		table := compileTrust(t, trustYAML, withTrust)
		policy, err := trust.New(table.Config.Trust, table)
		if err != nil {
			t.Fatal(err)
		}
		res, _ := Translate(table, Options{Kind: GRPC})
		for _, tc := range cases {
			t.Run(map[bool]string{true: "trust/", false: "open/"}[withTrust]+tc.name, func(t *testing.T) {
				r := httptest.NewRequest("GET", tc.path, nil)
				r.RemoteAddr = "203.0.113.9:5000" // untrusted
				for _, h := range tc.headers {
					k, v, _ := strings.Cut(h, ":")
					r.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
				}
				service := strings.Split(tc.path, "/")[1]
				got := envoyOutcome(grpcRoutes(t, res, service), r)
				want := map[bool]string{true: tc.want, false: tc.open}[withTrust]
				if got != want {
					t.Errorf("gRPC routes to %s, want %s", got, want)
				}
				if turnout := outcomeOf(policy.Decide(table, r.Clone(context.Background()))); turnout != want {
					t.Errorf("Turnout routes the untrusted request to %s, the table says %s", turnout, want)
				}
			})
		}
	}
}

// TestGRPCClientTrustIgnoresPin: a real grpc-go xDS client calling with
// a pin header, under a trust block that refuses untrusted pins, lands on
// the unpinned version (the rollout is at weight 0: v1).
func TestGRPCClientTrustIgnoresPin(t *testing.T) {
	table := echoTable(t, "weight: 10", "weight: 0", "services:", "trust: { networks: [10.0.0.0/8], pins: refuse }\nservices:")
	s := startADS(t)
	if err := s.Update(context.Background(), table); err != nil {
		t.Fatal(err)
	}
	c := xdsclient.Dial(t, s.Addr(), "echo")
	if got := xdsclient.Served(t, c, 20, "x-api-version", "v2"); got["v1"] != 20 {
		t.Fatalf("pinned calls served %v, want all 20 by v1", got)
	}
}

// TestGRPCTrustSplitNotSticky: the sticky key is colour the gateway strips
// from an untrusted request, whose split is then drawn at random; under a
// trust block a proxyless client's split hashes no key it could choose.
func TestGRPCTrustSplitNotSticky(t *testing.T) {
	rollout := "    versions: { v1: { upstream: u1 }, v2: { upstream: u2 } }\n    rollout: { from: v1, to: v2, weight: 10, sticky: header:X-User-ID }\n"
	for _, withTrust := range []bool{true, false} {
		text := strings.Replace(trustYAML, "  open:\n    match: { path_prefix: /open }\n    default: v1\n    versions: { v1: { upstream: u1 }, v2: { upstream: u2 } }\n",
			"  open:\n    match: { path_prefix: /open }\n    default: v1\n"+rollout, 1)
		res, _ := Translate(compileTrust(t, text, withTrust), Options{Kind: GRPC})
		var split *routev3.Route
		for _, rt := range grpcRoutes(t, res, "open").GetVirtualHosts()[0].GetRoutes() {
			if rt.GetName() == "open/rollout" {
				split = rt
			}
		}
		if split == nil || split.GetRoute().GetWeightedClusters() == nil {
			t.Fatalf("trust %v: no weighted open/rollout route", withTrust)
		}
		if hashed := len(split.GetRoute().GetHashPolicy()) > 0; hashed == withTrust {
			t.Errorf("trust %v: split hashes a sticky key: %v, want %v", withTrust, hashed, !withTrust)
		}
	}
}
