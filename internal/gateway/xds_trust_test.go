package gateway_test

import (
	"context"
	"slices"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/turnout-gw/turnout/internal/testutil"
)

// TestXDSTrustAuthz: a gateway with xds.listen and a trust block serves
// Envoy's ext_authz on the xDS port with the published table's policy: an
// untrusted request's colour is removed (and counted with the gateway's
// own), a trusted one keeps it.
func TestXDSTrustAuthz(t *testing.T) {
	v1, v2 := newSeen(t, "v1"), newSeen(t, "v2")
	tt := testutil.Start(t, "state: memory\nxds: { listen: 127.0.0.1:0 }\n"+trustYAML, map[string]string{"V1": v1.srv.URL, "V2": v2.srv.URL})
	conn, err := grpc.NewClient(tt.App.XDS.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := authv3.NewAuthorizationClient(conn)
	check := func(peer string) *authv3.OkHttpResponse {
		req := &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
			Source: &authv3.AttributeContext_Peer{Address: &corev3.Address{Address: &corev3.Address_SocketAddress{
				SocketAddress: &corev3.SocketAddress{Address: peer, PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: 5000}}}}},
			Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{
				Method: "GET", Host: "api.example.com", Path: "/users/1", Headers: map[string]string{"x-env": "canary"}}},
		}}
		var ok *authv3.OkHttpResponse
		testutil.Eventually(t, 10*time.Second, "ext_authz answering with the published table", func() bool {
			resp, err := client.Check(context.Background(), req)
			ok = resp.GetOkResponse()
			return err == nil && ok != nil
		})
		return ok
	}
	if ok := check("203.0.113.9"); !slices.Contains(ok.HeadersToRemove, "x-env") {
		t.Errorf("untrusted: headers to remove %v, want x-env among them", ok.HeadersToRemove)
	}
	if ok := check("10.0.0.1"); slices.Contains(ok.HeadersToRemove, "x-env") || len(ok.Headers) != 1 || ok.Headers[0].Header.Value != "1" {
		t.Errorf("trusted: %v", ok)
	}
	if got := testutil.Metric(t, tt, `turnout_untrusted_colour_total{service="users",source="header"}`); got != "1" {
		t.Errorf("Envoy's removed colour counted %q, want 1", got)
	}
}
