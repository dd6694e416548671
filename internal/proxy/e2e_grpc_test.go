package proxy_test

// gRPC through the proxy: grpc-go servers over h2c behind a whole Turnout
// (testutil.Start), unary and streaming calls, fallback, deadlines and
// upstream failures. Every wait is bounded by a context or a deadline.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/turnout-gw/turnout/internal/testutil"
	"github.com/turnout-gw/turnout/internal/testutil/grpcecho"
)

const protoGRPCYAML = `
upstreams:
  g-v1: { targets: [http://{{V1}}], protocol: h2c }
  g-v2: { targets: [http://{{V2}}], protocol: h2c }
services:
  echo:
    match: { path_prefix: / }
    negotiate: { header: X-API-Version }
    default: v1
    versions:
      v1: { upstream: g-v1 }
      v2: { upstream: g-v2 }
`

// protoDial returns a TestService client connected to the Turnout at base
// (http://host:port), closed by t.Cleanup.
func protoDial(t *testing.T, base string) testpb.TestServiceClient {
	t.Helper()
	cc, err := grpc.NewClient("passthrough:///"+strings.TrimPrefix(base, "http://"),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return testpb.NewTestServiceClient(cc)
}

// protoCtx is a context bounded by d, with optional outgoing metadata pairs.
func protoCtx(t *testing.T, d time.Duration, kv ...string) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	if len(kv) > 0 {
		ctx = metadata.AppendToOutgoingContext(ctx, kv...)
	}
	return ctx
}

func mdFirst(md metadata.MD, key string) string {
	if v := md.Get(key); len(v) > 0 {
		return v[0]
	}
	return ""
}

func payload(s string) *testpb.Payload { return &testpb.Payload{Body: []byte(s)} }

func TestE2EGRPC(t *testing.T) {
	v1, v2 := grpcecho.Start(t, "v1"), grpcecho.Start(t, "v2")
	tt := testutil.Start(t, protoGRPCYAML, map[string]string{"V1": v1.Addr, "V2": v2.Addr})
	c := protoDial(t, tt.URL)

	t.Run("unary routing", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			md   []string
			want string
		}{
			{"default", nil, "v1"},
			{"pinned by metadata", []string{"x-api-version", "2"}, "v2"},
			{"pinned by name", []string{"x-api-version", "v1"}, "v1"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var hdr, trl metadata.MD
				resp, err := c.UnaryCall(protoCtx(t, 5*time.Second, tc.md...),
					&testpb.SimpleRequest{Payload: payload("hello")}, grpc.Header(&hdr), grpc.Trailer(&trl))
				if err != nil {
					t.Fatalf("UnaryCall: %v", err)
				}
				if resp.GetServerId() != tc.want || string(resp.GetPayload().GetBody()) != "hello" {
					t.Errorf("response = %v, want server %s echoing hello", resp, tc.want)
				}
				if got := mdFirst(hdr, "x-served-version"); got != tc.want {
					t.Errorf("x-served-version = %q, want %q (header %v)", got, tc.want, hdr)
				}
				if got := mdFirst(hdr, grpcecho.MDSeenTurnoutVersion); got != tc.want {
					t.Errorf("upstream saw x-turnout-version %q, want %q", got, tc.want)
				}
				if got := mdFirst(trl, grpcecho.MDTrailerVersion); got != tc.want {
					t.Errorf("trailer %s = %q, want %q (trailer %v)", grpcecho.MDTrailerVersion, got, tc.want, trl)
				}
			})
		}
	})

	t.Run("server streaming", func(t *testing.T) {
		const n = 20
		req := &testpb.StreamingOutputCallRequest{Payload: payload("s")}
		for range n {
			req.ResponseParameters = append(req.ResponseParameters, &testpb.ResponseParameters{Size: 1})
		}
		stream, err := c.StreamingOutputCall(protoCtx(t, 5*time.Second, "x-api-version", "2"), req)
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			resp, err := stream.Recv()
			if err != nil {
				t.Fatalf("Recv %d: %v", i, err)
			}
			if got, want := string(resp.GetPayload().GetBody()), fmt.Sprintf("v2:s:%d", i); got != want {
				t.Fatalf("message %d = %q, want %q", i, got, want)
			}
		}
		if _, err := stream.Recv(); !errors.Is(err, io.EOF) {
			t.Fatalf("after %d messages: %v, want EOF", n, err)
		}
		if got := mdFirst(stream.Trailer(), grpcecho.MDTrailerVersion); got != "v2" {
			t.Errorf("trailer version = %q, want v2", got)
		}
	})

	t.Run("server streaming is flushed per message", func(t *testing.T) {
		// The second message comes 30s after the first: the first must
		// arrive on its own (a buffered answer meets the 5s deadline
		// first), and cancelling must not hang.
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		stream, err := c.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{
			Payload:            payload("f"),
			ResponseParameters: []*testpb.ResponseParameters{{Size: 1}, {Size: 1, IntervalUs: 30_000_000}},
		})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := stream.Recv()
		if err != nil {
			t.Fatalf("first message: %v", err)
		}
		if got := string(resp.GetPayload().GetBody()); got != "v1:f:0" {
			t.Fatalf("first message = %q", got)
		}
		cancel()
		if _, err := stream.Recv(); status.Code(err) != codes.Canceled {
			t.Errorf("after cancel: %v, want Canceled", err)
		}
	})

	t.Run("client streaming", func(t *testing.T) {
		const n = 50
		var hdr metadata.MD
		stream, err := c.StreamingInputCall(protoCtx(t, 5*time.Second, "x-api-version", "2"))
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		for i := range n {
			s := strconv.Itoa(i)
			want += len(s)
			if err := stream.Send(&testpb.StreamingInputCallRequest{Payload: payload(s)}); err != nil {
				t.Fatalf("Send %d: %v", i, err)
			}
		}
		resp, err := stream.CloseAndRecv()
		if err != nil {
			t.Fatalf("CloseAndRecv: %v (the server checks the order)", err)
		}
		if int(resp.GetAggregatedPayloadSize()) != want {
			t.Errorf("aggregated size = %d, want %d", resp.GetAggregatedPayloadSize(), want)
		}
		hdr, _ = stream.Header()
		if got := mdFirst(hdr, "x-served-version"); got != "v2" {
			t.Errorf("x-served-version = %q, want v2", got)
		}
	})

	t.Run("bidi streaming is full duplex", func(t *testing.T) {
		protoBidi(t, c, protoCtx(t, 10*time.Second, "x-api-version", "2"), "v2", 50)
	})

	t.Run("status and trailers", func(t *testing.T) {
		var hdr, trl metadata.MD
		_, err := c.UnaryCall(protoCtx(t, 5*time.Second, "x-api-version", "2"), &testpb.SimpleRequest{
			ResponseStatus: &testpb.EchoStatus{Code: int32(codes.NotFound), Message: "no such widget: 42"},
		}, grpc.Header(&hdr), grpc.Trailer(&trl))
		st := status.Convert(err)
		if st.Code() != codes.NotFound || st.Message() != "no such widget: 42" {
			t.Fatalf("status = %v %q, want NotFound %q", st.Code(), st.Message(), "no such widget: 42")
		}
		if got := mdFirst(trl, grpcecho.MDTrailerVersion); got != "v2" {
			t.Errorf("trailer %s = %q, want v2 (trailer %v)", grpcecho.MDTrailerVersion, got, trl)
		}

		// A status after messages travels in real HTTP/2 trailers.
		stream, err := c.FullDuplexCall(protoCtx(t, 5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if err := stream.Send(&testpb.StreamingOutputCallRequest{Payload: payload("a")}); err != nil {
			t.Fatal(err)
		}
		if resp, err := stream.Recv(); err != nil || string(resp.GetPayload().GetBody()) != "v1:a" {
			t.Fatalf("first echo = %v, %v", resp, err)
		}
		if err := stream.Send(&testpb.StreamingOutputCallRequest{
			ResponseStatus: &testpb.EchoStatus{Code: int32(codes.PermissionDenied), Message: "not you"},
		}); err != nil {
			t.Fatal(err)
		}
		_, err = stream.Recv()
		if st := status.Convert(err); st.Code() != codes.PermissionDenied || st.Message() != "not you" {
			t.Fatalf("stream status = %v %q, want PermissionDenied %q", st.Code(), st.Message(), "not you")
		}
		if got := mdFirst(stream.Trailer(), grpcecho.MDTrailerVersion); got != "v1" {
			t.Errorf("stream trailer version = %q, want v1 (trailer %v)", got, stream.Trailer())
		}
	})

	t.Run("client deadline", func(t *testing.T) {
		before := v1.Cancelled.Load()
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		ctx = metadata.AppendToOutgoingContext(ctx, grpcecho.MDSleep, "2s")
		_, err := c.UnaryCall(ctx, &testpb.SimpleRequest{})
		if status.Code(err) != codes.DeadlineExceeded {
			t.Fatalf("UnaryCall = %v, want DeadlineExceeded", err)
		}
		// The deadline reached the upstream handler too.
		testutil.Eventually(t, 3*time.Second, "upstream handler cancelled", func() bool {
			return v1.Cancelled.Load() > before
		})
		// And the connection is still usable.
		if resp, err := c.UnaryCall(protoCtx(t, 5*time.Second), &testpb.SimpleRequest{}); err != nil || resp.GetServerId() != "v1" {
			t.Fatalf("call after deadline: %v, %v", resp, err)
		}
	})
}

// protoBidi sends n messages on a FullDuplexCall, waiting for each echo
// before sending the next: a proxy that buffered the request body would
// stall on the first Recv.
func protoBidi(t *testing.T, c testpb.TestServiceClient, ctx context.Context, version string, n int) {
	t.Helper()
	stream, err := c.FullDuplexCall(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := stream.Send(&testpb.StreamingOutputCallRequest{Payload: payload(strconv.Itoa(i))}); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
		resp, err := stream.Recv()
		if err != nil {
			t.Fatalf("Recv %d: %v", i, err)
		}
		if got, want := string(resp.GetPayload().GetBody()), fmt.Sprintf("%s:%d", version, i); got != want {
			t.Fatalf("echo %d = %q, want %q", i, got, want)
		}
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("after CloseSend: %v, want EOF", err)
	}
	hdr, err := stream.Header()
	if err != nil {
		t.Fatal(err)
	}
	if got := mdFirst(hdr, "x-served-version"); got != version {
		t.Errorf("x-served-version = %q, want %q", got, version)
	}
	if got := mdFirst(stream.Trailer(), grpcecho.MDTrailerVersion); got != version {
		t.Errorf("trailer version = %q, want %q", got, version)
	}
}

// TestE2EGRPCStreamingWithFallback: with fallback on, a request sent to a
// version other than the fallback (here by a rule) may be retried, but a
// streaming request body must still stream: full-duplex gRPC must not wait
// for the client to finish sending.
func TestE2EGRPCStreamingWithFallback(t *testing.T) {
	v1, v2 := grpcecho.Start(t, "v1"), grpcecho.Start(t, "v2")
	tt := testutil.Start(t, protoGRPCYAML+`
    rules:
      - name: canary
        match: { header: { X-Env: canary } }
        version: v2
    fallback: true
`, map[string]string{"V1": v1.Addr, "V2": v2.Addr})
	c := protoDial(t, tt.URL)

	protoBidi(t, c, protoCtx(t, 10*time.Second, "x-env", "canary"), "v2", 20)

	var hdr metadata.MD
	resp, err := c.UnaryCall(protoCtx(t, 5*time.Second, "x-env", "canary"),
		&testpb.SimpleRequest{Payload: payload("u")}, grpc.Header(&hdr))
	if err != nil || resp.GetServerId() != "v2" || mdFirst(hdr, "x-served-version") != "v2" {
		t.Fatalf("unary via rule = %v, %v (header %v), want v2", resp, err, hdr)
	}
}

// TestE2EGRPCFallbackOnConnectFailure: a gRPC call (a POST with a streamed
// body) sent to a version whose upstream refuses connections never reached
// it, so it is retried on the fallback version: unary and bidi alike.
func TestE2EGRPCFallbackOnConnectFailure(t *testing.T) {
	v1 := grpcecho.Start(t, "v1")
	tt := testutil.Start(t, protoGRPCYAML+`
    rules:
      - name: canary
        match: { header: { X-Env: canary } }
        version: v2
    fallback: true
`, map[string]string{"V1": v1.Addr, "V2": testutil.ClosedAddr(t)})
	c := protoDial(t, tt.URL)

	var hdr metadata.MD
	resp, err := c.UnaryCall(protoCtx(t, 5*time.Second, "x-env", "canary"),
		&testpb.SimpleRequest{Payload: payload("u")}, grpc.Header(&hdr))
	if err != nil || resp.GetServerId() != "v1" || mdFirst(hdr, "x-served-version") != "v1" {
		t.Fatalf("unary with v2 down = %v, %v (header %v), want the v1 fallback", resp, err, hdr)
	}
	protoBidi(t, c, protoCtx(t, 10*time.Second, "x-env", "canary"), "v1", 10)
}

// TestE2EGRPCUpstreamDown: a gRPC call to a version whose upstream is down
// fails with Unavailable (Turnout answers 502) within the call's deadline.
func TestE2EGRPCUpstreamDown(t *testing.T) {
	v1 := grpcecho.Start(t, "v1")
	tt := testutil.Start(t, protoGRPCYAML, map[string]string{"V1": v1.Addr, "V2": testutil.ClosedAddr(t)})
	c := protoDial(t, tt.URL)
	_, err := c.UnaryCall(protoCtx(t, 5*time.Second, "x-api-version", "2"), &testpb.SimpleRequest{})
	if st := status.Convert(err); st.Code() != codes.Unavailable || !strings.Contains(st.Message(), "g-v2") {
		t.Fatalf("UnaryCall to a down upstream = %v, want Unavailable naming g-v2", err)
	}
}

// TestE2EGRPCDeadlineAtUpstream: when the upstream resets a call at the
// deadline its grpc-timeout header set, Turnout answers that call with
// DEADLINE_EXCEEDED (trailers-only), not an HTTP error. A raw h2c request
// sets grpc-timeout without a client-side timer racing the answer.
func TestE2EGRPCDeadlineAtUpstream(t *testing.T) {
	v1 := grpcecho.Start(t, "v1")
	tt := testutil.Start(t, protoGRPCYAML, map[string]string{"V1": v1.Addr, "V2": v1.Addr})
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: p}
	t.Cleanup(tr.CloseIdleConnections)
	c := &http.Client{Transport: tr, Timeout: 5 * time.Second}

	// One gRPC message: an empty SimpleRequest.
	req, err := http.NewRequest(http.MethodPost, tt.URL+"/grpc.testing.TestService/UnaryCall",
		strings.NewReader("\x00\x00\x00\x00\x00"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/grpc")
	req.Header.Set("Te", "trailers")
	req.Header.Set("Grpc-Timeout", "150m")
	req.Header.Set(grpcecho.MDSleep, "3s") // an answer after the deadline would carry grpc-status 0
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	code := resp.Header.Get("Grpc-Status")
	if code == "" {
		code = resp.Trailer.Get("Grpc-Status")
	}
	if resp.StatusCode != http.StatusOK || code != strconv.Itoa(int(codes.DeadlineExceeded)) {
		t.Fatalf("HTTP %d, grpc-status %q (header %v, trailer %v), want 200 with grpc-status 4",
			resp.StatusCode, code, resp.Header, resp.Trailer)
	}
}

// protoWSEcho starts a WebSocket echo server. When h2c is set it also speaks
// cleartext HTTP/2 (prior knowledge) for ordinary requests. Every ordinary
// request's protocol is recorded in lastProto.
