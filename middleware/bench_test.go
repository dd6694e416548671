package middleware_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/turnout-gw/turnout/internal/testutil/grpcecho"
	"github.com/turnout-gw/turnout/middleware"
	"google.golang.org/grpc"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
)

// discard is a ResponseWriter that keeps nothing, so the benchmarks
// measure the routing, not a recorder.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// hello is the benchmarks' handler: a small JSON answer.
var hello = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"hello":"world"}`)
})

// BenchmarkMiddleware measures the middleware's overhead per request
// against calling the handler directly: the decision (a header pin, a
// rule, a sticky split), the served headers, the decision in the context,
// stats and metrics. Run with -benchmem.
func BenchmarkMiddleware(b *testing.B) {
	h := start(b, rollbackYAML, nil, middleware.Versions{"v1": hello, "v2": hello}, middleware.WithoutWatch())
	cases := []struct {
		name    string
		handler http.Handler
		header  [2]string
	}{
		{"direct", hello, [2]string{"X-User-Id", "u1"}},
		{"pinned", h.MW, [2]string{"X-Api-Version", "2"}},
		{"rule", h.MW, [2]string{"X-Env", "canary"}},
		{"sticky split", h.MW, [2]string{"X-User-Id", "u1"}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			r := httptest.NewRequest(http.MethodGet, "/users/1", nil)
			r.Header.Set(tc.header[0], tc.header[1])
			w := &discard{h: http.Header{}}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				clear(w.h)
				tc.handler.ServeHTTP(w, r)
			}
		})
	}
}

// headerStream is the part of a server transport stream grpc.SetHeader
// needs, so the interceptor runs without a connection.
type headerStream struct{ grpc.ServerTransportStream }

func (headerStream) Method() string                  { return "/grpc.testing.TestService/UnaryCall" }
func (headerStream) SetHeader(metadata.MD) error     { return nil }
func (headerStream) SendHeader(metadata.MD) error    { return nil }
func (headerStream) SetTrailer(md metadata.MD) error { return nil }

// BenchmarkUnaryInterceptor measures the unary server interceptor's
// overhead per call against calling the implementation directly.
func BenchmarkUnaryInterceptor(b *testing.B) {
	h := start(b, grpcYAML, map[string]string{"WEIGHT": "50"}, nil, middleware.WithoutWatch())
	impls := echoImpls()
	gs := grpc.NewServer()
	if err := h.MW.RegisterService(gs, &testpb.TestService_ServiceDesc, impls); err != nil {
		b.Fatal(err)
	}
	ctx := grpc.NewContextWithServerTransportStream(
		metadata.NewIncomingContext(context.Background(), metadata.Pairs("x-user-id", "u1")), headerStream{})
	req := &testpb.SimpleRequest{}
	info := &grpc.UnaryServerInfo{FullMethod: "/grpc.testing.TestService/UnaryCall"}
	v1 := impls["v1"].(*grpcecho.Server)
	direct := func(ctx context.Context, req any) (any, error) { return v1.UnaryCall(ctx, req.(*testpb.SimpleRequest)) }
	b.Run("direct", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := direct(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	})
	icpt := h.MW.UnaryServerInterceptor()
	b.Run("sticky split", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := icpt(ctx, req, info, direct); err != nil {
				b.Fatal(err)
			}
		}
	})
}
