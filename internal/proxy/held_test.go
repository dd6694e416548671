package proxy

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/testutil/grpcecho"
	"github.com/turnout-gw/turnout/internal/upstream"
)

// TestExchangeHeldOnlyWhenRequestPointsIntoIt: after a round trip through
// net/http's HTTP/2 client (which may still read the request), the exchange
// stays out of the pool only when the request points into it — the direct
// path's URL or a retry's — and goes back for ReverseProxy's own clone, as
// every gRPC call's first attempt is.
func TestExchangeHeldOnlyWhenRequestPointsIntoIt(t *testing.T) {
	srv := grpcecho.Start(t, "v1")
	pool, err := upstream.New(&config.Upstream{Name: "g", Targets: []string{"http://" + srv.Addr}, Protocol: config.ProtocolH2C})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	h := &Handler{}

	for _, tc := range []struct {
		name string
		url  func(x *exchange, req *http.Request)
		want bool
	}{
		{"reverse proxy clone", func(*exchange, *http.Request) {}, false},
		{"direct path", func(x *exchange, req *http.Request) { x.url = *req.URL; req.URL = &x.url }, true},
		{"retry", func(x *exchange, req *http.Request) { x.retryURL = *req.URL; req.URL = &x.retryURL }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// An empty gRPC message frame; the answer's status does not matter here.
			req, err := http.NewRequest(http.MethodPost, "http://"+srv.Addr+"/grpc.testing.TestService/EmptyCall",
				bytes.NewReader([]byte{0, 0, 0, 0, 0}))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/grpc")
			req.Header.Set("Te", "trailers")
			x := new(exchange)
			tc.url(x, req)
			resp, err := h.send1(x, pool, req)
			if err != nil {
				t.Fatalf("send: %v", err)
			}
			_ = resp.Body.Close()
			if x.held != tc.want {
				t.Errorf("held = %v, want %v", x.held, tc.want)
			}
		})
	}
}
