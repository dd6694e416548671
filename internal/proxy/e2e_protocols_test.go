package proxy_test

// End-to-end protocol tests: a whole Turnout (testutil.Start) in front of real
// upstreams on 127.0.0.1:0 — grpc-go servers over h2c, a gorilla/websocket
// echo server, an HTTPS h2 server — driven by real clients. Every wait is
// bounded by a context, a deadline or a client timeout.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/turnout-gw/turnout/internal/testutil"
	"github.com/turnout-gw/turnout/internal/testutil/grpcecho"
	"github.com/turnout-gw/turnout/internal/testutil/testpki"
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
		// arrive on its own, and cancelling must not hang.
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		start := time.Now()
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
		if el := time.Since(start); el > 2*time.Second {
			t.Errorf("first message took %v: response buffered?", el)
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
		start := time.Now()
		_, err := c.UnaryCall(ctx, &testpb.SimpleRequest{})
		el := time.Since(start)
		if status.Code(err) != codes.DeadlineExceeded {
			t.Fatalf("UnaryCall = %v, want DeadlineExceeded", err)
		}
		if el > 1500*time.Millisecond {
			t.Fatalf("DeadlineExceeded after %v, want about 200ms", el)
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
// fails promptly with Unavailable (Turnout answers 502).
func TestE2EGRPCUpstreamDown(t *testing.T) {
	v1 := grpcecho.Start(t, "v1")
	tt := testutil.Start(t, protoGRPCYAML, map[string]string{"V1": v1.Addr, "V2": testutil.ClosedAddr(t)})
	c := protoDial(t, tt.URL)
	start := time.Now()
	_, err := c.UnaryCall(protoCtx(t, 5*time.Second, "x-api-version", "2"), &testpb.SimpleRequest{})
	if st := status.Convert(err); st.Code() != codes.Unavailable || !strings.Contains(st.Message(), "g-v2") {
		t.Fatalf("UnaryCall to a down upstream = %v, want Unavailable naming g-v2", err)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("took %v", el)
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
	req.Header.Set(grpcecho.MDSleep, "3s")
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	el := time.Since(start)
	code := resp.Header.Get("Grpc-Status")
	if code == "" {
		code = resp.Trailer.Get("Grpc-Status")
	}
	if resp.StatusCode != http.StatusOK || code != strconv.Itoa(int(codes.DeadlineExceeded)) {
		t.Fatalf("HTTP %d, grpc-status %q (header %v, trailer %v), want 200 with grpc-status 4",
			resp.StatusCode, code, resp.Header, resp.Trailer)
	}
	if el > 2*time.Second {
		t.Errorf("answered after %v, want about 150ms", el)
	}
}

// protoWSEcho starts a WebSocket echo server. When h2c is set it also speaks
// cleartext HTTP/2 (prior knowledge) for ordinary requests. Every ordinary
// request's protocol is recorded in lastProto.
func protoWSEcho(t *testing.T, h2c bool, lastProto *atomic.Int32) *httptest.Server {
	t.Helper()
	up := websocket.Upgrader{}
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !websocket.IsWebSocketUpgrade(r) {
			lastProto.Store(int32(r.ProtoMajor))
			fmt.Fprintf(w, "plain %s %s", r.Proto, r.Header.Get("X-Turnout-Version"))
			return
		}
		h := http.Header{"X-Upstream-Turnout-Version": {r.Header.Get("X-Turnout-Version")}}
		conn, err := up.Upgrade(w, r, h)
		if err != nil {
			return
		}
		defer conn.Close()
		for {
			_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			typ, msg, err := conn.ReadMessage()
			if err != nil {
				return
			}
			_ = conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
			if err := conn.WriteMessage(typ, append([]byte("echo:"), msg...)); err != nil {
				return
			}
		}
	}))
	if h2c {
		p := new(http.Protocols)
		p.SetHTTP1(true)
		p.SetUnencryptedHTTP2(true)
		s.Config.Protocols = p
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func TestE2EWebSocket(t *testing.T) {
	for _, protocol := range []string{"http1", "h2c"} {
		t.Run(protocol, func(t *testing.T) {
			var lastProto atomic.Int32
			ws := protoWSEcho(t, protocol == "h2c", &lastProto)
			v1 := testutil.VersionServer(t, "v1")
			tt := testutil.Start(t, `
upstreams:
  w-v1: { targets: [{{V1}}] }
  w-v2: { targets: [{{V2}}], protocol: `+protocol+` }
services:
  ws:
    match: { path_prefix: / }
    default: v1
    versions:
      v1: { upstream: w-v1 }
      v2: { upstream: w-v2 }
`, map[string]string{"V1": v1.URL, "V2": ws.URL})

			d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
			conn, resp, err := d.DialContext(protoCtx(t, 5*time.Second),
				"ws://"+strings.TrimPrefix(tt.URL, "http://")+"/ws", http.Header{"X-API-Version": {"2"}})
			if err != nil {
				if resp != nil {
					b, _ := io.ReadAll(resp.Body)
					t.Fatalf("dial: %v (status %d: %s)", err, resp.StatusCode, b)
				}
				t.Fatalf("dial: %v", err)
			}
			t.Cleanup(func() { _ = conn.Close() })
			if resp.StatusCode != http.StatusSwitchingProtocols {
				t.Fatalf("handshake status %d", resp.StatusCode)
			}
			if got := resp.Header.Get("X-Served-Version"); got != "v2" {
				t.Errorf("X-Served-Version = %q, want v2", got)
			}
			if got := resp.Header.Get("X-Upstream-Turnout-Version"); got != "v2" {
				t.Errorf("upstream saw X-Turnout-Version %q, want v2", got)
			}
			for i := range 20 {
				msg := fmt.Sprintf("message %d", i)
				_ = conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
				if err := conn.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
					t.Fatalf("write %d: %v", i, err)
				}
				_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
				typ, got, err := conn.ReadMessage()
				if err != nil {
					t.Fatalf("read %d: %v", i, err)
				}
				if typ != websocket.TextMessage || string(got) != "echo:"+msg {
					t.Fatalf("echo %d = %d %q", i, typ, got)
				}
			}
			_ = conn.WriteControl(websocket.CloseMessage,
				websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))

			// Ordinary requests to the same pool still use its protocol.
			c := &http.Client{Timeout: 5 * time.Second}
			code, served, body := testutil.Get(t, c, tt.URL+"/plain", "X-API-Version: 2")
			if code != http.StatusOK || served != "v2" {
				t.Fatalf("plain GET = %d %q %q", code, served, body)
			}
			wantProto := int32(1)
			if protocol == "h2c" {
				wantProto = 2
			}
			if got := lastProto.Load(); got != wantProto {
				t.Errorf("plain request reached the upstream over HTTP/%d, want HTTP/%d", got, wantProto)
			}
		})
	}
}

// protoCert writes a certificate for 127.0.0.1 and localhost into dir and
// returns the cert and key paths and a pool trusting it.
func protoCert(t *testing.T, dir string) (certPath, keyPath string, roots *x509.CertPool) {
	t.Helper()
	ca := testpki.NewCA(t, dir, "proto")
	leaf := ca.Server(t, dir, "proto-server")
	return leaf.CertFile, leaf.KeyFile, ca.Pool()
}

const protoHTTPYAML = `
upstreams:
  h-v1: { targets: [{{V1}}] }
  h-v2: { targets: [{{V2}}] }
services:
  api:
    match: { path_prefix: / }
    default: v1
    versions:
      v1: { upstream: h-v1 }
      v2: { upstream: h-v2 }
`

// protoForwarded is an upstream that answers with the request's protocol and
// forwarding headers as JSON.
func protoForwarded(t *testing.T, version string) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{
			"version":           version,
			"turnout_version":   r.Header.Get("X-Turnout-Version"),
			"x_forwarded_proto": r.Header.Get("X-Forwarded-Proto"),
			"x_forwarded_host":  r.Header.Get("X-Forwarded-Host"),
		})
	}))
	t.Cleanup(s.Close)
	return s
}

func protoGetJSON(t *testing.T, c *http.Client, url string, headers ...string) (*http.Response, map[string]string) {
	t.Helper()
	resp, err := c.Do(testutil.NewRequest(t, http.MethodGet, url, headers...))
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	var m map[string]string
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("GET %s: status %d, body %q: %v", url, resp.StatusCode, b, err)
	}
	return resp, m
}

func TestE2ETLSDataPlane(t *testing.T) {
	v1, v2 := protoForwarded(t, "v1"), protoForwarded(t, "v2")
	vars := map[string]string{"V1": v1.URL, "V2": v2.URL}

	tlsClient := func(t *testing.T, roots *x509.CertPool) *http.Client {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true}
		t.Cleanup(tr.CloseIdleConnections)
		return &http.Client{Transport: tr, Timeout: 5 * time.Second}
	}

	t.Run("h2 over TLS on the main port", func(t *testing.T) {
		cert, key, roots := protoCert(t, t.TempDir())
		tt := testutil.Start(t, fmt.Sprintf("tls: { cert: %s, key: %s }\n", cert, key)+protoHTTPYAML, vars)
		c := tlsClient(t, roots)
		for _, tc := range []struct{ pin, want string }{{"", "v1"}, {"2", "v2"}} {
			var hs []string
			if tc.pin != "" {
				hs = append(hs, "X-API-Version: "+tc.pin)
			}
			resp, m := protoGetJSON(t, c, "https://"+tt.App.Server.Addr()+"/x", hs...)
			if resp.ProtoMajor != 2 || resp.TLS == nil {
				t.Errorf("proto %s (TLS %v), want HTTP/2 over TLS", resp.Proto, resp.TLS != nil)
			}
			if got := resp.Header.Get("X-Served-Version"); got != tc.want || m["version"] != tc.want || m["turnout_version"] != tc.want {
				t.Errorf("X-Served-Version %q, upstream %v; want %s", got, m, tc.want)
			}
			if m["x_forwarded_proto"] != "https" {
				t.Errorf("X-Forwarded-Proto = %q, want https", m["x_forwarded_proto"])
			}
		}
	})

	t.Run("separate TLS listener", func(t *testing.T) {
		cert, key, roots := protoCert(t, t.TempDir())
		tt := testutil.Start(t, fmt.Sprintf("tls: { listen: 127.0.0.1:0, cert: %s, key: %s }\n", cert, key)+protoHTTPYAML, vars)
		if tt.App.Server.TLSAddr() == "" {
			t.Fatal("no TLS address")
		}
		resp, m := protoGetJSON(t, tlsClient(t, roots), "https://"+tt.App.Server.TLSAddr()+"/x", "X-API-Version: 2")
		if resp.ProtoMajor != 2 || m["version"] != "v2" || resp.Header.Get("X-Served-Version") != "v2" {
			t.Errorf("TLS port: %s %v %q", resp.Proto, m, resp.Header.Get("X-Served-Version"))
		}
		resp, m = protoGetJSON(t, &http.Client{Timeout: 5 * time.Second}, tt.URL+"/x")
		if resp.ProtoMajor != 1 || m["version"] != "v1" || m["x_forwarded_proto"] != "http" {
			t.Errorf("plain port: %s %v", resp.Proto, m)
		}
	})

	t.Run("h2c from the client on the plain port", func(t *testing.T) {
		tt := testutil.Start(t, protoHTTPYAML, vars)
		p := new(http.Protocols)
		p.SetUnencryptedHTTP2(true)
		tr := &http.Transport{Protocols: p}
		t.Cleanup(tr.CloseIdleConnections)
		c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
		resp, m := protoGetJSON(t, c, tt.URL+"/x", "X-API-Version: 2")
		if resp.ProtoMajor != 2 {
			t.Errorf("proto %s, want HTTP/2 (h2c)", resp.Proto)
		}
		if resp.Header.Get("X-Served-Version") != "v2" || m["version"] != "v2" {
			t.Errorf("X-Served-Version %q, upstream %v; want v2", resp.Header.Get("X-Served-Version"), m)
		}
		// HTTP/1.1 still works on the same port.
		resp, m = protoGetJSON(t, &http.Client{Timeout: 5 * time.Second}, tt.URL+"/x")
		if resp.ProtoMajor != 1 || m["version"] != "v1" {
			t.Errorf("HTTP/1.1 on the same port: %s %v", resp.Proto, m)
		}
	})
}

func TestE2EUpstreamH2OverTLS(t *testing.T) {
	var notH2 atomic.Int32
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 2 || r.TLS == nil {
			notH2.Add(1)
			http.Error(w, "want HTTP/2 over TLS, got "+r.Proto, http.StatusHTTPVersionNotSupported)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{
			"version": "v2", "proto": r.Proto, "turnout_version": r.Header.Get("X-Turnout-Version"),
		})
	}))
	up.EnableHTTP2 = true
	up.StartTLS()
	t.Cleanup(up.Close)
	caPath := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: up.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	v1 := testutil.VersionServer(t, "v1")
	tt := testutil.Start(t, `
upstreams:
  t-v1: { targets: [{{V1}}] }
  t-v2: { targets: [{{V2}}], protocol: h2, tls: { ca: {{CA}} } }
services:
  api:
    match: { path_prefix: / }
    default: v1
    versions:
      v1: { upstream: t-v1 }
      v2: { upstream: t-v2 }
`, map[string]string{"V1": v1.URL, "V2": up.URL, "CA": caPath})

	c := &http.Client{Timeout: 5 * time.Second}
	for i := range 3 {
		resp, m := protoGetJSON(t, c, tt.URL+"/h2", "X-API-Version: 2")
		if resp.StatusCode != http.StatusOK || m["proto"] != "HTTP/2.0" || m["turnout_version"] != "v2" {
			t.Fatalf("request %d: %d %v", i, resp.StatusCode, m)
		}
		if got := resp.Header.Get("X-Served-Version"); got != "v2" {
			t.Fatalf("X-Served-Version = %q", got)
		}
	}
	if n := notH2.Load(); n != 0 {
		t.Errorf("%d requests reached the upstream without HTTP/2 over TLS", n)
	}
}

func TestE2EHeaderPropagation(t *testing.T) {
	got := make(chan http.Header, 1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case got <- r.Header.Clone():
		default:
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(up.Close)
	v2 := testutil.VersionServer(t, "v2")
	tt := testutil.Start(t, protoHTTPYAML, map[string]string{"V1": up.URL, "V2": v2.URL})

	const (
		traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
		baggage     = "userId=alice,serverNode=DF%2028,isProduction=false"
	)
	req, err := http.NewRequest(http.MethodGet, tt.URL+"/things/1?q=a", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("traceparent", traceparent)
	req.Header.Set("baggage", baggage)
	req.Header.Set("X-Env", "canary")
	req.Header.Set("X-Custom", "a")
	req.Header.Set("Connection", "X-Hop")
	req.Header.Set("X-Hop", "secret")
	req.Header.Set("X-Forwarded-For", "10.0.0.1")
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Served-Version") != "v1" {
		t.Fatalf("status %d, X-Served-Version %q", resp.StatusCode, resp.Header.Get("X-Served-Version"))
	}
	var h http.Header
	select {
	case h = <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("upstream saw no request")
	}
	for k, want := range map[string]string{
		"Traceparent":       traceparent,
		"Baggage":           baggage,
		"X-Env":             "canary",
		"X-Custom":          "a",
		"X-Turnout-Version": "v1",
		"X-Forwarded-For":   "10.0.0.1, 127.0.0.1",
		"X-Forwarded-Proto": "http",
		"X-Forwarded-Host":  strings.TrimPrefix(tt.URL, "http://"),
	} {
		if vs := h.Values(k); len(vs) != 1 || vs[0] != want {
			t.Errorf("upstream %s = %q, want [%q]", k, vs, want)
		}
	}
	if vs := h.Values("X-Hop"); len(vs) != 0 {
		t.Errorf("hop-by-hop X-Hop reached the upstream: %q", vs)
	}
	for _, v := range h.Values("Connection") {
		if strings.Contains(strings.ToLower(v), "x-hop") {
			t.Errorf("Connection header reached the upstream: %q", v)
		}
	}
}

func TestE2EErrorMapping(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(3 * time.Second):
		case <-r.Context().Done():
		}
		_, _ = io.WriteString(w, "late")
	}))
	t.Cleanup(slow.Close)
	tt := testutil.Start(t, `
upstreams:
  down: { targets: [http://{{DOWN}}] }
  slow: { targets: [{{SLOW}}], timeout: 200ms }
services:
  api:
    match: { path_prefix: / }
    default: v1
    versions:
      v1: { upstream: down }
      v2: { upstream: slow }
`, map[string]string{"DOWN": testutil.ClosedAddr(t), "SLOW": slow.URL})

	c := &http.Client{Timeout: 5 * time.Second}
	for _, tc := range []struct {
		name, pin string
		want      int
		within    time.Duration
	}{
		{"upstream down", "1", http.StatusBadGateway, 3 * time.Second},
		{"upstream slower than its timeout", "2", http.StatusGatewayTimeout, 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, tt.URL+"/x", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("X-API-Version", tc.pin)
			start := time.Now()
			resp, err := c.Do(req)
			if err != nil {
				t.Fatalf("client: %v", err)
			}
			defer resp.Body.Close()
			el := time.Since(start)
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, b, tc.want)
			}
			if el > tc.within {
				t.Errorf("answered after %v, want within %v", el, tc.within)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q, want JSON", ct)
			}
			var body struct {
				Error  string `json:"error"`
				Status int    `json:"status"`
			}
			if err := json.Unmarshal(b, &body); err != nil || body.Status != tc.want || body.Error == "" {
				t.Errorf("body %q (%v), want JSON error with status %d", b, err, tc.want)
			}
		})
	}
}

// TestE2EFallbackRestoresTargetPath: a request retried on the fallback
// version reaches the fallback target's base path joined with the request
// path once, not with the failed target's base path in between.
func TestE2EFallbackRestoresTargetPath(t *testing.T) {
	v1 := testutil.VersionServer(t, "v1")
	tt := testutil.Start(t, `
upstreams:
  b-v1: { targets: [{{V1}}/api] }
  b-v2: { targets: [http://{{DOWN}}/base] }
services:
  users:
    match: { path_prefix: /users }
    default: v1
    fallback: true
    versions:
      v1: { upstream: b-v1 }
      v2: { upstream: b-v2 }
    rollout: { from: v1, to: v2, weight: 100 }
`, map[string]string{"V1": v1.URL, "DOWN": testutil.ClosedAddr(t)})
	c := &http.Client{Timeout: 5 * time.Second}
	code, served, body := testutil.Get(t, c, tt.URL+"/users/1")
	if code != http.StatusOK || served != "v1" || !strings.Contains(body, `"path":"/api/users/1"`) {
		t.Fatalf("fallback GET = %d %q %s, want v1 at /api/users/1", code, served, body)
	}
}
