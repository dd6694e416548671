package middleware_test

import (
	"net/http"
	"testing"

	"google.golang.org/grpc"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"

	"github.com/turnout-gw/turnout/internal/testutil"
	"github.com/turnout-gw/turnout/middleware"
)

// trustHTTPYAML colours /users to v2 by X-Env and lets pins through only
// from {{NET}}.
const trustHTTPYAML = `
upstreams:
  none: { targets: [http://127.0.0.1:9] }
trust:
  networks: [{{NET}}]
  pins: refuse
services:
  users:
    match: { path_prefix: /users }
    default: v1
    versions: { v1: { upstream: none }, v2: { upstream: none } }
    rules:
      - name: testers
        match: { header: { X-Env: canary } }
        version: v2
`

// TestTrustPolicy: the middleware applies the configuration's trust
// block as the gateway does. From a client outside trust.networks (the
// tests' 127.0.0.1 when the network is 10.0.0.0/8) colour and pins are
// removed before routing, over HTTP and gRPC; from inside they route.
func TestTrustPolicy(t *testing.T) {
	for _, tc := range []struct {
		net  string
		want string // the version a coloured or pinned request gets
	}{
		{"10.0.0.0/8", "v1"},
		{"127.0.0.0/8", "v2"},
	} {
		t.Run("networks="+tc.net, func(t *testing.T) {
			vars := map[string]string{"NET": tc.net}
			h := start(t, trustHTTPYAML, vars, middleware.Versions{"v1": testutil.VersionHandler("v1"), "v2": testutil.VersionHandler("v2")},
				middleware.WithoutWatch())
			for _, hdr := range []string{"X-Env: canary", "X-API-Version: 2"} {
				if _, served, _ := testutil.Get(t, http.DefaultClient, h.URL+"/users/1", hdr); served != tc.want {
					t.Errorf("HTTP with %q: served %q, want %q", hdr, served, tc.want)
				}
			}

			vars["WEIGHT"] = "0"
			mw := start(t, "trust:\n  networks: [{{NET}}]\n  pins: refuse\n"+grpcYAML, vars, nil, middleware.WithoutWatch()).MW
			seen := metadata.MD{}
			impls := echoImpls()
			client := grpcServe(t, mw, impls)
			for _, kv := range [][]string{{"x-env", "canary"}, {"x-api-version", "2"}} {
				var hdr metadata.MD
				resp, err := client.UnaryCall(md(t, kv...), &testpb.SimpleRequest{}, grpc.Header(&hdr))
				if err != nil {
					t.Fatalf("gRPC with %v: %v", kv, err)
				}
				if resp.GetServerId() != tc.want {
					t.Errorf("gRPC with %v: served by %q, want %q", kv, resp.GetServerId(), tc.want)
				}
				seen[kv[0]] = append(seen[kv[0]], first(hdr, "x-served-version"))
			}
			if got := seen["x-env"]; len(got) != 1 || got[0] != tc.want {
				t.Errorf("x-served-version for the coloured call %v, want %s", got, tc.want)
			}
		})
	}
}
