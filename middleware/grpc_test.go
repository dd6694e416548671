package middleware_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/testutil/grpcecho"
	"github.com/turnout-gw/turnout/middleware"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// grpcYAML routes grpc.testing.TestService: the configured service owns
// the calls by its full name as path prefix.
const grpcYAML = `
upstreams:
  none: { targets: [http://127.0.0.1:9] }
services:
  echo:
    match: { path_prefix: /grpc.testing.TestService }
    default: v1
    versions:
      v1: { upstream: none, lifecycle: deprecated, sunset: 2027-06-30T00:00:00Z, successor: v2 }
      v2: { upstream: none }
      v0: { upstream: none, lifecycle: gone }
    rules:
      - name: canary
        match: { header: { X-Env: canary } }
        version: v2
    rollout: { from: v1, to: v2, weight: {{WEIGHT}}, sticky: "header:X-User-ID" }
`

// grpcServe serves impls (one TestService implementation per version)
// behind mw's interceptors on a real grpc-go server on 127.0.0.1:0 and
// returns a client of it; all is stopped by t.Cleanup.
func grpcServe(t *testing.T, mw *middleware.Middleware, impls middleware.Impls) testpb.TestServiceClient {
	return grpcClient(t, grpcListen(t, mw, impls))
}

// grpcListen is grpcServe returning the server's address.
func grpcListen(t *testing.T, mw *middleware.Middleware, impls middleware.Impls) string {
	t.Helper()
	gs := grpc.NewServer(grpc.ChainUnaryInterceptor(mw.UnaryServerInterceptor()), grpc.ChainStreamInterceptor(mw.StreamServerInterceptor()))
	if err := mw.RegisterService(gs, &testpb.TestService_ServiceDesc, impls); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(ln) }()
	t.Cleanup(gs.Stop)
	return ln.Addr().String()
}

// grpcClient is a client of addr with opts; closed by t.Cleanup.
func grpcClient(t *testing.T, addr string, opts ...grpc.DialOption) testpb.TestServiceClient {
	t.Helper()
	cc, err := grpc.NewClient(addr, append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return testpb.NewTestServiceClient(cc)
}

// echoImpls are grpcecho implementations answering as v1 and v2.
func echoImpls() middleware.Impls {
	return middleware.Impls{"v1": &grpcecho.Server{Version: "v1"}, "v2": &grpcecho.Server{Version: "v2"}}
}

// grpcMiddleware is a middleware on grpcYAML at weight, gRPC only.
func grpcMiddleware(t *testing.T, weight string) *middleware.Middleware {
	return start(t, grpcYAML, map[string]string{"WEIGHT": weight}, nil, middleware.WithoutWatch()).MW
}

// md returns a context with outgoing metadata pairs and a deadline.
func md(t *testing.T, kv ...string) context.Context {
	ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(context.Background(), kv...), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestGRPCUnary: unary calls routed by x-api-version metadata, by a rule
// on metadata and by default; Turnout's own answers as gRPC statuses; the
// served version (and a deprecated version's lifecycle) in the response
// header metadata.
func TestGRPCUnary(t *testing.T) {
	client := grpcServe(t, grpcMiddleware(t, "0"), echoImpls())
	cases := []struct {
		name   string
		kv     []string
		code   codes.Code
		served string
	}{
		{"default", nil, codes.OK, "v1"},
		{"pinned 2", []string{"x-api-version", "2"}, codes.OK, "v2"},
		{"pinned v1", []string{"x-api-version", "v1"}, codes.OK, "v1"},
		{"rule on metadata", []string{"x-env", "canary"}, codes.OK, "v2"},
		{"not acceptable", []string{"x-api-version", "7"}, codes.NotFound, ""},
		{"gone", []string{"x-api-version", "v0"}, codes.NotFound, ""},
		{"malformed", []string{"x-api-version", "%%%"}, codes.InvalidArgument, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var hdr metadata.MD
			resp, err := client.UnaryCall(md(t, tc.kv...), &testpb.SimpleRequest{}, grpc.Header(&hdr))
			if status.Code(err) != tc.code {
				t.Fatalf("code %v (%v), want %v", status.Code(err), err, tc.code)
			}
			if tc.code != codes.OK {
				return
			}
			if resp.GetServerId() != tc.served || first(hdr, "x-served-version") != tc.served || first(hdr, grpcecho.MDUpstreamVersion) != tc.served {
				t.Fatalf("served by %q, x-served-version %q; want %q", resp.GetServerId(), first(hdr, "x-served-version"), tc.served)
			}
			if dep := first(hdr, "deprecation") != ""; dep != (tc.served == "v1") || (dep && first(hdr, "sunset") != "Wed, 30 Jun 2027 00:00:00 GMT") {
				t.Fatalf("lifecycle metadata %v for %s", hdr, tc.served)
			}
		})
	}
}

func first(md metadata.MD, k string) string {
	if v := md.Get(k); len(v) > 0 {
		return v[0]
	}
	return ""
}

// TestGRPCStreams: server and bidirectional streams routed by metadata.
func TestGRPCStreams(t *testing.T) {
	client := grpcServe(t, grpcMiddleware(t, "0"), echoImpls())
	for _, want := range []string{"v1", "v2"} {
		t.Run(want, func(t *testing.T) {
			st, err := client.StreamingOutputCall(md(t, "x-api-version", want), &testpb.StreamingOutputCallRequest{
				Payload:            &testpb.Payload{Body: []byte("x")},
				ResponseParameters: []*testpb.ResponseParameters{{}, {}, {}}})
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 3; i++ {
				m, err := st.Recv()
				if err != nil {
					t.Fatal(err)
				}
				if got := string(m.GetPayload().GetBody()); got != fmt.Sprintf("%s:x:%d", want, i) {
					t.Fatalf("message %d: %q", i, got)
				}
			}
			if _, err := st.Recv(); err != io.EOF {
				t.Fatalf("end of stream: %v", err)
			}
			if hdr, _ := st.Header(); first(hdr, "x-served-version") != want {
				t.Fatalf("x-served-version %v", hdr)
			}
			if got := duplex(t, client, md(t, "x-api-version", want)); got != want {
				t.Fatalf("full duplex served by %s", got)
			}
		})
	}
}

// duplex makes a bidirectional call of two messages and returns who
// answered them.
func duplex(t *testing.T, client testpb.TestServiceClient, ctx context.Context) string {
	t.Helper()
	st, err := client.FullDuplexCall(ctx)
	if err != nil {
		t.Fatal(err)
	}
	who := ""
	for i := 0; i < 2; i++ {
		if err := st.Send(&testpb.StreamingOutputCallRequest{Payload: &testpb.Payload{Body: []byte("m")}}); err != nil {
			t.Fatal(err)
		}
		m, err := st.Recv()
		if err != nil {
			t.Fatal(err)
		}
		v, _, _ := cut(string(m.GetPayload().GetBody()))
		if who != "" && v != who {
			t.Fatalf("one stream answered by %s and %s", who, v)
		}
		who = v
	}
	_ = st.CloseSend()
	if _, err := st.Recv(); err != io.EOF {
		t.Fatalf("end of stream: %v", err)
	}
	return who
}

func cut(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// TestGRPCStickySplit: at weight 50 unary and streaming calls split by the
// x-user-id metadata key; each user lands on the same version every time,
// for unary and streaming calls alike.
func TestGRPCStickySplit(t *testing.T) {
	client := grpcServe(t, grpcMiddleware(t, "50"), echoImpls())
	const users = 300
	assign := map[int]string{}
	v2 := 0
	for i := 0; i < users; i++ {
		resp, err := client.UnaryCall(md(t, "x-user-id", fmt.Sprintf("user-%d", i)), &testpb.SimpleRequest{})
		if err != nil {
			t.Fatal(err)
		}
		assign[i] = resp.GetServerId()
		if assign[i] == "v2" {
			v2++
		}
	}
	if v2 < users*35/100 || v2 > users*65/100 {
		t.Fatalf("%d of %d users on v2 at weight 50", v2, users)
	}
	for i := 0; i < users; i += 3 {
		ctx := md(t, "x-user-id", fmt.Sprintf("user-%d", i))
		resp, err := client.UnaryCall(ctx, &testpb.SimpleRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetServerId() != assign[i] {
			t.Fatalf("user-%d moved %s → %s", i, assign[i], resp.GetServerId())
		}
		if got := duplex(t, client, ctx); got != assign[i] {
			t.Fatalf("user-%d: unary on %s, stream on %s", i, assign[i], got)
		}
	}
}

// front is the first hop's implementation: each UnaryCall calls the second
// hop (through the client interceptors) and answers with who served it
// there and which caller version the second hop saw; its ServerId is
// "<own version>/<second hop's version>/<x-turnout-version seen there>/<streamed by>".
type front struct {
	testpb.UnimplementedTestServiceServer
	version string
	next    testpb.TestServiceClient
}

func (f *front) UnaryCall(ctx context.Context, _ *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	var hdr metadata.MD
	resp, err := f.next.UnaryCall(ctx, &testpb.SimpleRequest{}, grpc.Header(&hdr))
	if err != nil {
		return nil, err
	}
	st, err := f.next.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{ResponseParameters: []*testpb.ResponseParameters{{}}})
	if err != nil {
		return nil, err
	}
	m, err := st.Recv()
	if err != nil {
		return nil, err
	}
	streamed, _, _ := cut(string(m.GetPayload().GetBody()))
	return &testpb.SimpleResponse{ServerId: f.version + "/" + resp.GetServerId() + "/" + first(hdr, grpcecho.MDSeenTurnoutVersion) + "/" + streamed}, nil
}

// TestGRPCColourSecondHop: a call coloured x-env: canary reaches v2 of the
// first hop by its rule; the first hop's calls to a second service (its
// own middleware and configuration) carry the colour and the caller's
// version, so the second hop's rule sends them to its v2 too, unary and
// streaming. Uncoloured calls stay on v1 at both hops.
func TestGRPCColourSecondHop(t *testing.T) {
	hop2 := grpcListen(t, grpcMiddleware(t, "0"), echoImpls())
	hop1 := grpcMiddleware(t, "0")
	next := grpcClient(t, hop2, grpc.WithUnaryInterceptor(hop1.UnaryClientInterceptor()), grpc.WithStreamInterceptor(hop1.StreamClientInterceptor()))
	client := grpcServe(t, hop1, middleware.Impls{"v1": &front{version: "v1", next: next}, "v2": &front{version: "v2", next: next}})
	cases := []struct {
		name string
		kv   []string
		want string
	}{
		{"coloured", []string{"x-env", "canary"}, "v2/v2/v2/v2"},
		{"plain", nil, "v1/v1/v1/v1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := client.UnaryCall(md(t, tc.kv...), &testpb.SimpleRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if resp.GetServerId() != tc.want {
				t.Fatalf("hops served %s, want %s", resp.GetServerId(), tc.want)
			}
		})
	}
}
