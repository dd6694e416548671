package middleware_test

import (
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/testutil"
	"github.com/turnout-gw/turnout/internal/testutil/routecases"
	"github.com/turnout-gw/turnout/internal/testutil/routecases/trustcases"
	"github.com/turnout-gw/turnout/middleware"
)

// TestTrustCases runs the proxy's trust cases against the middleware over
// HTTP.
func TestTrustCases(t *testing.T) {
	t.Setenv(trustcases.KeyEnv, trustcases.Key)
	vars := routecases.TrustVars("http://127.0.0.1:9", "http://127.0.0.1:9")
	vs := middleware.Versions{"v1": testutil.VersionHandler("v1"), "v2": testutil.VersionHandler("v2")}
	h := start(t, routecases.TrustYAML, vars, vs, middleware.WithService("open", vs))
	routecases.RunTrust(t, h.URL, trustcases.Middleware, vars)
}

// TestGRPCTrustCases runs the same cases through the gRPC interceptors:
// the case's service (users or open) is the one whose prefix becomes the
// test service's, its headers are the call's metadata, signed as over
// HTTP.
func TestGRPCTrustCases(t *testing.T) {
	t.Setenv(trustcases.KeyEnv, trustcases.Key)
	vars := routecases.TrustVars("http://127.0.0.1:9", "http://127.0.0.1:9")
	sign := routecases.TrustSigner(t, vars)
	clients := map[string]testpb.TestServiceClient{}
	for _, prefix := range []string{"/users", "/open"} {
		text := strings.Replace(routecases.TrustYAML, "path_prefix: "+prefix, "path_prefix: /grpc.testing.TestService", 1)
		mw := start(t, text, vars, nil, middleware.WithoutWatch()).MW
		clients[prefix] = grpcServe(t, mw, echoImpls())
	}
	for _, tc := range routecases.TrustCases {
		t.Run(tc.Name, func(t *testing.T) {
			if tc.RefusedBy(trustcases.Middleware) {
				// Every trust case is enforced here; a row marked refused
				// would need validate to refuse its keys, as QN's test shows.
				t.Fatalf("the table marks this case refused for the middleware, which enforces it")
			}
			client := clients["/"+strings.SplitN(tc.Path, "/", 3)[1]]
			r := testutil.NewRequest(t, http.MethodGet, "http://localhost"+tc.Path, tc.Headers...)
			if tc.Signed {
				r.Header.Set(config.DefaultSignatureHeader, sign(r))
			}
			var kv []string
			for k, vs := range r.Header {
				for _, v := range vs {
					kv = append(kv, strings.ToLower(k), v)
				}
			}
			var hdr metadata.MD
			resp, err := client.UnaryCall(md(t, kv...), &testpb.SimpleRequest{}, grpc.Header(&hdr))
			if err != nil {
				t.Fatal(err)
			}
			if resp.GetServerId() != tc.Served || first(hdr, "x-served-version") != tc.Served {
				t.Fatalf("served by %q (header %q), want %s", resp.GetServerId(), first(hdr, "x-served-version"), tc.Served)
			}
		})
	}
}
