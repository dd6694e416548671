package xds

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/testutil/routecases/trustcases"
	"github.com/turnout-gw/turnout/internal/trust"
)

// TestEnvoyTrustCases runs the shared trust cases (the ones the proxy and
// the middleware run) through Turnout's ext_authz service, for real on
// the xDS server's port, and the Envoy route emulator: each request is
// described as Envoy does from a peer of 127.0.0.1 (the harnesses'
// client), changed by the answer and routed by the exported routes.
func TestEnvoyTrustCases(t *testing.T) {
	text := strings.NewReplacer("{{V1}}", "http://127.0.0.1:9001", "{{V2}}", "http://127.0.0.1:9002",
		"{{KEYENV}}", trustcases.KeyEnv).Replace(trustcases.YAML)
	table := compileYAML(t, "trustcases.yaml", text)
	key := []byte(trustcases.Key)
	s := startADS(t, WithTrustOptions(trust.WithKey(key)))
	if err := s.Update(context.Background(), table); err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(s.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := authv3.NewAuthorizationClient(conn)
	res, _ := Translate(table, Options{Kind: Envoy})
	edge, err := trust.New(table.Config.Trust, table, trust.WithKey(key))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range trustcases.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			if tc.RefusedBy(trustcases.Envoy) {
				// Every trust case is enforced here; a row marked refused
				// would need validate to refuse its keys, as QN's test shows.
				t.Fatalf("the table marks this case refused for Envoy, which enforces it")
			}
			r := httptest.NewRequest("GET", tc.Path, nil)
			r.RemoteAddr = "127.0.0.1:5000"
			for _, h := range tc.Headers {
				k, v, _ := strings.Cut(h, ":")
				r.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
			}
			if tc.Signed {
				r.Header.Set(config.DefaultSignatureHeader, edge.Sign(r, key, time.Now()))
			}
			resp, err := client.Check(context.Background(), checkRequest(r))
			if err != nil {
				t.Fatal(err)
			}
			applyOK(t, r, resp)
			if got := envoyOutcome(res.Routes[0], r); got != tc.Served {
				t.Errorf("Envoy routed to %s, want %s (request after ext_authz: %v %s)", got, tc.Served, r.Header, r.URL)
			}
		})
	}
}
