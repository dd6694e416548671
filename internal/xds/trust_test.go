package xds

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/route"
	"github.com/turnout-gw/turnout/internal/trust"
)

const trustYAML = `
xds: { listen: 127.0.0.1:0 }
upstreams:
  u1: { targets: [http://127.0.0.1:9001] }
  u2: { targets: [http://127.0.0.1:9002] }
trust:
  networks: [10.0.0.0/8]
  proxies: [192.168.0.0/16]
  pins: refuse
  service_pins: { open: allow }
  strip: [header:X-Debug-Route]
  signature: { key_env: XDS_TRUST_TEST_UNSET_KEY }
services:
  users:
    match: { path_prefix: /users }
    negotiate: { accept_vendor: application/vnd.example }
    default: v1
    versions: { v1: { upstream: u1 }, v2: { upstream: u2 } }
    rules:
      - name: testers
        match: { header: { X-Env: canary } }
        version: v2
      - name: beta
        match: { cookie: { beta: "yes" } }
        version: v2
      - name: flag
        match: { query: { flavour: new } }
        version: v2
      - name: beta-path
        match: { path_prefix: /users/beta }
        version: v2
  open:
    match: { path_prefix: /open }
    default: v1
    versions: { v1: { upstream: u1 }, v2: { upstream: u2 } }
`

var (
	trustKey = []byte("xds-k3y")
	trustNow = time.Unix(1_800_000_000, 0)
)

func trustTable(t *testing.T) *route.Table {
	t.Helper()
	return compileTrust(t, trustYAML, true)
}

// checkRequest describes r to the ext_authz service the way Envoy does
// with encode_raw_headers: the downstream peer as source, each header line
// lower-cased in header_map, the request target as path.
func checkRequest(r *http.Request) *authv3.CheckRequest {
	host, port, _ := net.SplitHostPort(r.RemoteAddr)
	p, _ := strconv.ParseUint(port, 10, 32)
	hm := &corev3.HeaderMap{}
	for k, vs := range r.Header {
		for _, v := range vs {
			hm.Headers = append(hm.Headers, &corev3.HeaderValue{Key: strings.ToLower(k), RawValue: []byte(v)})
		}
	}
	return &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Source: &authv3.AttributeContext_Peer{Address: &corev3.Address{Address: &corev3.Address_SocketAddress{
			SocketAddress: &corev3.SocketAddress{Address: host, PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: uint32(p)}}}}},
		Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{
			Method: r.Method, Host: r.Host, Path: r.URL.RequestURI(), HeaderMap: hm}},
	}}
}

// applyOK changes r as Envoy's ext_authz filter does with an OK answer.
func applyOK(t *testing.T, r *http.Request, resp *authv3.CheckResponse) {
	t.Helper()
	ok := resp.GetOkResponse()
	if ok == nil {
		t.Fatalf("ext_authz denied: %v", resp)
	}
	for _, h := range ok.HeadersToRemove {
		r.Header.Del(h)
	}
	for _, h := range ok.Headers {
		r.Header.Set(h.Header.Key, h.Header.Value)
	}
	if len(ok.QueryParametersToRemove) > 0 {
		q := r.URL.Query()
		for _, n := range ok.QueryParametersToRemove {
			q.Del(n)
		}
		r.URL.RawQuery = q.Encode()
	}
}

// outcomeOf is a decision in envoyOutcome's terms.
func outcomeOf(d route.Decision) string {
	switch {
	case d.Status == http.StatusBadRequest:
		return "406"
	case d.Status != 0:
		return strconv.Itoa(d.Status)
	case d.Reason == route.ReasonRollout || d.Reason == route.ReasonExperiment:
		return "split"
	}
	return d.Version.Name
}

// TestEnvoyTrust: Turnout's ext_authz service runs for real (the xDS
// server's gRPC port on 127.0.0.1:0); each request is described to it as
// Envoy does, changed by its answer, and walked through the Envoy routes
// by the route emulator. An untrusted pin, forged colour and a forged
// marker do not change the route; a trusted or signed request does; and
// every outcome is what the gateway's trust.Policy gives.
func TestEnvoyTrust(t *testing.T) {
	table := trustTable(t)
	s := startADS(t, WithTrustOptions(trust.WithKey(trustKey), trust.WithClock(func() time.Time { return trustNow })))
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
	gw, err := trust.New(table.Config.Trust, table, trust.WithKey(trustKey), trust.WithClock(func() time.Time { return trustNow }))
	if err != nil {
		t.Fatal(err)
	}
	const untrusted, trusted = "203.0.113.9:5000", "10.1.2.3:5000"
	cases := []struct {
		name, remote, target string
		headers              []string
		sign                 bool
		want                 string
	}{
		{"untrusted colour header", untrusted, "/users/1", []string{"X-Env", "canary"}, false, "v1"},
		{"untrusted colour cookie", untrusted, "/users/1", []string{"Cookie", "a=1; beta=yes"}, false, "v1"},
		{"untrusted colour cookie on a second line", untrusted, "/users/1", []string{"Cookie", "a=1", "Cookie", "beta=yes; c=2"}, false, "v1"},
		{"untrusted colour query", untrusted, "/users/1?x=1&flavour=new", nil, false, "v1"},
		{"untrusted header pin", untrusted, "/users/1", []string{"X-API-Version", "2"}, false, "v1"},
		{"untrusted unknown pin", untrusted, "/users/1", []string{"X-API-Version", "7"}, false, "v1"},
		{"untrusted accept pin", untrusted, "/users/1", []string{"Accept", "application/vnd.example.v2+json"}, false, "v1"},
		{"untrusted path pin", untrusted, "/v2/users/1", nil, false, "v1"},
		{"untrusted path pin with colour", untrusted, "/v2/users/1", []string{"X-Env", "canary"}, false, "v1"},
		{"untrusted path pin, rule on the rest of the path", untrusted, "/v1/users/beta/1", nil, false, "v2"},
		{"untrusted query pin", untrusted, "/users/1?version=2", nil, false, "v1"},
		{"forged marker", untrusted, "/users/1", []string{"X-API-Version", "2", headerTrusted, "1"}, false, "v1"},
		{"forged XFF from an untrusted peer", untrusted, "/users/1", []string{"X-Forwarded-For", "10.9.9.9", "X-Env", "canary"}, false, "v1"},
		{"forged signature", untrusted, "/users/1", []string{"X-Env", "canary", "X-Turnout-Colour-Sig", "t=1800000000,h=" + strings.Repeat("0", 64)}, false, "v1"},
		{"untrusted pin where pins are allowed", untrusted, "/open/1", []string{"X-API-Version", "2"}, false, "v2"},
		{"trusted colour", trusted, "/users/1", []string{"X-Env", "canary"}, false, "v2"},
		{"trusted header pin", trusted, "/users/1", []string{"X-API-Version", "2"}, false, "v2"},
		{"trusted path pin", trusted, "/v2/users/1", nil, false, "v2"},
		{"trusted unknown pin", trusted, "/users/1", []string{"X-API-Version", "7"}, false, "406"},
		{"trusted through a proxy", "192.168.1.1:5000", "/users/1", []string{"X-Forwarded-For", "10.9.9.9", "X-Env", "canary"}, false, "v2"},
		{"signed colour", untrusted, "/users/1", []string{"X-Env", "canary"}, true, "v2"},
		{"signed pin", untrusted, "/users/1", []string{"X-API-Version", "2"}, true, "v2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mk := func() *http.Request {
				r := httptest.NewRequest("GET", c.target, nil)
				r.RemoteAddr = c.remote
				for i := 0; i < len(c.headers); i += 2 {
					r.Header.Add(c.headers[i], c.headers[i+1])
				}
				if c.sign {
					r.Header.Set("X-Turnout-Colour-Sig", gw.Sign(r, trustKey, trustNow))
				}
				return r
			}
			r := mk()
			resp, err := client.Check(context.Background(), checkRequest(r))
			if err != nil {
				t.Fatal(err)
			}
			applyOK(t, r, resp)
			got := envoyOutcome(res.Routes[0], r)
			if got != c.want {
				t.Errorf("Envoy routed to %s, want %s (request after ext_authz: %v %s)", got, c.want, r.Header, r.URL)
			}
			if turnout := outcomeOf(gw.Decide(table, mk())); turnout != got {
				t.Errorf("Envoy routed to %s, the gateway to %s", got, turnout)
			}
			if c.remote == untrusted && !c.sign {
				if r.Header.Get("X-Env") != "" || strings.Contains(strings.Join(r.Header["Cookie"], ";"), "beta") || r.URL.Query().Has("flavour") {
					t.Errorf("colour left for the upstream: %v %s", r.Header, r.URL)
				}
			}
			if r.Header.Get("X-Turnout-Colour-Sig") != "" {
				t.Errorf("signature header left for the upstream")
			}
		})
	}
}

// TestEnvoyTrustRemovesColour: what ext_authz tells Envoy to remove from
// an untrusted request is exactly the colour, the cookie rewritten with
// the others kept, and the marker.
func TestEnvoyTrustRemovesColour(t *testing.T) {
	table := trustTable(t)
	a := &authz{}
	pol, err := trust.New(table.Config.Trust, table, trust.WithKey(trustKey))
	if err != nil {
		t.Fatal(err)
	}
	a.state.Store(&authzState{table: table, policy: pol})
	r := httptest.NewRequest("GET", "/users/1?x=1&flavour=new&version=2", nil)
	r.RemoteAddr = "203.0.113.9:5000"
	r.Header.Set("X-Env", "canary")
	r.Header.Set("X-Debug-Route", "v2")
	r.Header.Set("X-API-Version", "2")
	r.Header.Set("Cookie", "a=1; beta=yes; b=2")
	r.Header.Set("Accept", "application/json")
	resp, err := a.Check(context.Background(), checkRequest(r))
	if err != nil {
		t.Fatal(err)
	}
	ok := resp.GetOkResponse()
	if want := []string{"x-api-version", "x-debug-route", "x-env", headerTrusted}; !slices.Equal(ok.HeadersToRemove, want) {
		t.Errorf("headers to remove %v, want %v", ok.HeadersToRemove, want)
	}
	if len(ok.Headers) != 1 || ok.Headers[0].Header.Key != "cookie" || ok.Headers[0].Header.Value != "a=1; b=2" {
		t.Errorf("headers set %v, want cookie a=1; b=2", ok.Headers)
	}
	if want := []string{"flavour", "version"}; !slices.Equal(ok.QueryParametersToRemove, want) {
		t.Errorf("query parameters to remove %v, want %v", ok.QueryParametersToRemove, want)
	}
	if got := removedQuery("x=1&fla%76our=new&y=2", "x=1&y=2"); !slices.Equal(got, []string{"fla%76our", "flavour"}) {
		t.Errorf("an encoded name removed as %v, want it both as written and decoded", got)
	}
}

// TestEnvoyTrustFailsClosed: before any table the service answers an
// error (Envoy's filter then answers 503: failure_mode_allow is off).
func TestEnvoyTrustFailsClosed(t *testing.T) {
	r := httptest.NewRequest("GET", "/users/1", nil)
	if _, err := (&authz{}).Check(context.Background(), checkRequest(r)); err == nil {
		t.Fatal("an answer without a table")
	}
}

// TestEnvoyTrustListener: with a trust block the Envoy listener runs
// ext_authz first, failing closed, through xds.authz_cluster, takes the
// client address from the connection, and the marker never reaches an
// upstream; proxyless gRPC gets no trust warning (it is enforced there);
// without a trust block nothing changes.
func TestEnvoyTrustListener(t *testing.T) {
	table := trustTable(t)
	res, warns := Translate(table, Options{Kind: Envoy})
	if len(warns) != 0 {
		t.Errorf("Envoy warnings %v", warns)
	}
	js, err := res.JSON()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"name": "envoy.filters.http.ext_authz"`, `"clusterName": "turnout_xds"`, `"clearRouteCache": true`,
		`"useRemoteAddress": true`, `"encodeRawHeaders": true`, `"requestHeadersToRemove": [`, `"code": "ServiceUnavailable"`} {
		if !strings.Contains(string(js), want) {
			t.Errorf("Envoy resources lack %s", want)
		}
	}
	if strings.Contains(string(js), `"failureModeAllow": true`) {
		t.Error("ext_authz fails open")
	}
	if i, j := strings.Index(string(js), "ext_authz"), strings.Index(string(js), "envoy.filters.http.router"); i > j {
		t.Error("ext_authz is not before the router")
	}
	_, gw := Translate(table, Options{Kind: GRPC})
	for _, w := range gw {
		if strings.Contains(w.Msg, "trust") {
			t.Errorf("gRPC warning %v: trust is enforced on proxyless gRPC (TestGRPCTrust), not warned about", w)
		}
	}
	c, err := config.Parse("trust.yaml", []byte(strings.Replace(trustYAML, "xds: { listen: 127.0.0.1:0 }", "xds: { listen: 127.0.0.1:0, authz_cluster: edge_to_turnout }", 1)))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := route.Compile(c)
	res, _ = Translate(other, Options{Kind: Envoy})
	if js, _ := res.JSON(); !strings.Contains(string(js), `"clusterName": "edge_to_turnout"`) {
		t.Error("xds.authz_cluster not used")
	}
}

// BenchmarkAuthzCheck is Turnout's side of one Envoy request under a trust
// block (in process, without the gRPC hop): an untrusted request with a
// colour header, a cookie and a query parameter to remove.
func BenchmarkAuthzCheck(b *testing.B) {
	c, err := config.Parse("trust.yaml", []byte(trustYAML))
	if err != nil {
		b.Fatal(err)
	}
	table, _ := route.Compile(c)
	pol, err := trust.New(c.Trust, table, trust.WithKey(trustKey))
	if err != nil {
		b.Fatal(err)
	}
	a := &authz{}
	a.state.Store(&authzState{table: table, policy: pol})
	r := httptest.NewRequest("GET", "/users/1?x=1&flavour=new", nil)
	r.RemoteAddr = "203.0.113.9:5000"
	r.Header.Set("X-Env", "canary")
	r.Header.Set("Cookie", "a=1; beta=yes")
	r.Header.Set("Accept", "application/json")
	req := checkRequest(r)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Check(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
}
