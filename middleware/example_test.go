package middleware_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/turnout-gw/turnout/middleware"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
)

// exampleYAML is the configuration of the examples, in the format `turnout
// serve` reads (middleware.File("turnout.yaml") reads it from a file and
// follows its changes). The upstream is required by the format and not
// used in process.
const exampleYAML = `
upstreams:
  local: { targets: [http://127.0.0.1:9] }
services:
  users:
    match: { path_prefix: /users }
    default: v1
    versions:
      v1: { upstream: local, lifecycle: deprecated, successor: v2 }
      v2: { upstream: local }
    rules:
      - name: testers
        match: { header: { X-Env: canary } }
        version: v2
    rollout: { from: v1, to: v2, weight: 0, sticky: "header:X-User-ID" }
  greeter:
    match: { path_prefix: /grpc.testing.TestService }
    default: v1
    versions: { v1: { upstream: local }, v2: { upstream: local } }
`

func exampleLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// A service holding v1 and v2 of its handlers routes between them with
// the same rules, negotiation and rollout as the proxy.
func ExampleNew() {
	v1 := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "users v1") })
	v2 := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "users v2") })
	mw, err := middleware.New(middleware.YAML("example.yaml", []byte(exampleYAML)), middleware.Versions{"v1": v1, "v2": v2},
		middleware.WithLogger(exampleLogger()))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer mw.Close()

	for _, h := range [][2]string{{"", ""}, {"X-API-Version", "2"}, {"X-Env", "canary"}, {"X-API-Version", "7"}} {
		r := httptest.NewRequest(http.MethodGet, "/users/1", nil)
		if h[0] != "" {
			r.Header.Set(h[0], h[1])
		}
		w := httptest.NewRecorder()
		mw.ServeHTTP(w, r)
		fmt.Printf("%d %s served=%s deprecation=%t\n", w.Code, strings.TrimSpace(w.Body.String()), w.Header().Get("X-Served-Version"), w.Header().Get("Deprecation") != "")
	}
	// Output:
	// 200 users v1 served=v1 deprecation=true
	// 200 users v2 served=v2 deprecation=false
	// 200 users v2 served=v2 deprecation=false
	// 406 {"error":"no version of users satisfies the request","requested":"7","versions":["v1","v2"]} served= deprecation=false
}

// The chosen version's handler reads the decision from its context.
func ExampleVersionFrom() {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, _ := middleware.VersionFrom(r.Context())
		fmt.Printf("service=%s version=%s reason=%s rule=%s\n", d.Service, d.Version, d.Reason, d.Rule)
	})
	mw, err := middleware.New(middleware.YAML("example.yaml", []byte(exampleYAML)), middleware.Versions{"v1": h, "v2": h},
		middleware.WithLogger(exampleLogger()))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer mw.Close()
	r := httptest.NewRequest(http.MethodGet, "/users/1", nil)
	r.Header.Set("X-Env", "canary")
	mw.ServeHTTP(httptest.NewRecorder(), r)
	// Output: service=users version=v2 reason=rule rule=testers
}

// The admin API of `turnout serve` (rollouts and their actions, reload,
// events, metrics, dashboard) mounts on the service's own mux.
func ExampleMiddleware_AdminHandler() {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	mw, err := middleware.New(middleware.YAML("example.yaml", []byte(exampleYAML)), middleware.Versions{"v1": ok, "v2": ok},
		middleware.WithLogger(exampleLogger()))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer mw.Close()
	mux := http.NewServeMux()
	mux.Handle("/turnout/", http.StripPrefix("/turnout", mw.AdminHandler()))
	mux.Handle("/", mw)

	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "http://localhost:8080/turnout/api/v1/rollouts/users", nil))
	var st struct {
		State  string  `json:"state"`
		Weight float64 `json:"weight"`
	}
	_ = json.Unmarshal(w.Body.Bytes(), &st)
	fmt.Println(w.Code, st.State, st.Weight)
	// Output: 200 pending 0
}

// greeter is one version of a gRPC service.
type greeter struct {
	testpb.UnimplementedTestServiceServer
	version string
}

func (g *greeter) UnaryCall(ctx context.Context, _ *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	return &testpb.SimpleResponse{ServerId: g.version}, nil
}

// A gRPC server holding two versions of a service: calls are routed by
// their x-api-version metadata (rules and sticky splits on metadata work
// as on headers), and x-served-version tells the client who answered.
func ExampleMiddleware_RegisterService() {
	mw, err := middleware.New(middleware.YAML("example.yaml", []byte(exampleYAML)), nil, middleware.WithLogger(exampleLogger()))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer mw.Close()
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(mw.UnaryServerInterceptor()), grpc.ChainStreamInterceptor(mw.StreamServerInterceptor()))
	err = mw.RegisterService(srv, &testpb.TestService_ServiceDesc, middleware.Impls{"v1": &greeter{version: "v1"}, "v2": &greeter{version: "v2"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Stop()

	cc, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cc.Close()
	client := testpb.NewTestServiceClient(cc)
	for _, v := range []string{"1", "2"} {
		var hdr metadata.MD
		ctx := metadata.AppendToOutgoingContext(context.Background(), "x-api-version", v)
		resp, err := client.UnaryCall(ctx, &testpb.SimpleRequest{}, grpc.Header(&hdr))
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(resp.GetServerId(), hdr.Get("x-served-version"))
	}
	// Output:
	// v1 [v1]
	// v2 [v2]
}
