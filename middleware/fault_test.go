package middleware_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/testutil"
	"github.com/turnout-gw/turnout/internal/testutil/routecases"
	"github.com/turnout-gw/turnout/internal/testutil/syncbuf"
	"github.com/turnout-gw/turnout/middleware"
)

// TestGRPCFaults runs the shared fault cases through the gRPC
// interceptors: an injected abort is the call's status (gRPC's mapping of
// the HTTP status), and the implementation is not called.
func TestGRPCFaults(t *testing.T) {
	text := strings.Replace(routecases.FaultYAML, "path_prefix: /users", "path_prefix: /grpc.testing.TestService", 1)
	mw := start(t, text, routingVars("0"), nil, middleware.WithoutWatch()).MW
	client := grpcServe(t, mw, echoImpls())
	for _, tc := range routecases.Faults {
		t.Run(tc.Name, func(t *testing.T) {
			var kv []string
			for _, h := range tc.Headers {
				k, v, _ := strings.Cut(h, ":")
				kv = append(kv, strings.ToLower(k), strings.TrimSpace(v))
			}
			want := codes.OK
			if tc.Aborted {
				want = codes.Unavailable // 429, 502 and 503 alike
			}
			var hdr metadata.MD
			_, err := client.UnaryCall(md(t, kv...), &testpb.SimpleRequest{}, grpc.Header(&hdr))
			if status.Code(err) != want {
				t.Fatalf("unary: code %v (%v), want %v", status.Code(err), err, want)
			}
			if want == codes.OK && strings.Join(hdr.Get("x-served-version"), ",") != tc.Served {
				t.Fatalf("unary served by %v, want %s", hdr.Get("x-served-version"), tc.Served)
			}
			stream, err := client.FullDuplexCall(md(t, kv...))
			if err != nil {
				t.Fatal(err)
			}
			if err := stream.CloseSend(); err != nil {
				t.Fatal(err)
			}
			_, err = stream.Recv()
			if want == codes.OK && err != io.EOF || want != codes.OK && status.Code(err) != want {
				t.Fatalf("stream: %v, want code %v", err, want)
			}
		})
	}
}

// delayYAML delays half of v1's requests ten minutes and aborts half of them:
// the draw decides, from the middleware's random source.
const delayYAML = `
upstreams:
  none: { targets: [http://127.0.0.1:9] }
services:
  users:
    match: { path_prefix: /users }
    default: v1
    versions:
      v1: { upstream: none, fault: { delay: { percent: 50, duration: 10m }, abort: { percent: 50, status: 503 } } }
`

// TestFaultDraw: the middleware draws the decision's fault from the
// injected random source as the proxy does (fault.Spec.Pick): a high draw
// injects nothing; a low one delays the request (held until its client
// gives up, the handler never called) and would abort it.
func TestFaultDraw(t *testing.T) {
	var draw atomic.Uint64
	var calls atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1) })
	srv := start(t, delayYAML, nil, middleware.Versions{"v1": h},
		middleware.WithRand(func() uint64 { return draw.Load() }))

	draw.Store(math.MaxUint64)
	if status, _, _ := testutil.Get(t, http.DefaultClient, srv.URL+"/users/1"); status != 200 || calls.Load() != 1 {
		t.Fatalf("high draw: status %d after %d calls, want 200 after 1", status, calls.Load())
	}

	draw.Store(0)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/users/1", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("low draw answered %d, want the request held", resp.StatusCode)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("low draw: %v, want the client's deadline", err)
	}
	if calls.Load() != 1 {
		t.Fatalf("a held request reached the handler (%d calls)", calls.Load())
	}
}

// TestContractValidationRefused: live contract validation needs a copy of
// the answer, which the middleware does not take; New refuses the key
// with its position instead of ignoring it.
func TestContractValidationRefused(t *testing.T) {
	text := `
upstreams:
  none: { targets: [http://127.0.0.1:9] }
services:
  users:
    match: { path_prefix: /users }
    default: v1
    versions:
      v1: { upstream: none, openapi: users-v1.yaml }
      v2: { upstream: none }
    rollout: { from: v1, to: v2, weight: 0 }
    contract: { validate_percent: 10 }
`
	_, err := middleware.New(middleware.YAML("mw.yaml", []byte(text)), middleware.Versions{"v1": testutil.VersionHandler("v1"), "v2": testutil.VersionHandler("v2")},
		middleware.WithLogger(quiet))
	var ce *config.Error
	if !errors.As(err, &ce) {
		t.Fatalf("New: %v, want a *config.Error", err)
	}
	if ce.Pos.File != "mw.yaml" || ce.Pos.Line != 12 || !strings.Contains(err.Error(), "services.users.contract.validate_percent") {
		t.Fatalf("New: %v, want services.users.contract.validate_percent at mw.yaml:12", err)
	}
}

// TestProxyOnlyKeysWarned: `fallback` and `mirror` are kept (one file may
// drive the proxy too) but New says, by key and position, that they are
// not applied in process.
func TestProxyOnlyKeysWarned(t *testing.T) {
	text := `
upstreams:
  none: { targets: [http://127.0.0.1:9] }
services:
  users:
    match: { path_prefix: /users }
    default: v1
    versions:
      v1: { upstream: none }
      v2: { upstream: none }
    fallback: true
    mirror: { to: v2 }
`
	var buf syncbuf.Buffer
	mw, err := middleware.New(middleware.YAML("mw.yaml", []byte(text)), middleware.Versions{"v1": testutil.VersionHandler("v1"), "v2": testutil.VersionHandler("v2")},
		middleware.WithLogger(slog.New(slog.NewTextHandler(&buf, nil))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mw.Close() })
	for _, want := range []string{"key=services.users.fallback at=mw.yaml:11:5", "key=services.users.mirror at=mw.yaml:12:5"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, buf.String())
		}
	}
}
