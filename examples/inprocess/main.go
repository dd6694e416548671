// Command inprocess is an HTTP service and a gRPC service, each with a v1
// and a v2 implementation in the same binary, routed by Turnout's package
// middleware from turnout.yaml: negotiation, rules, sticky splits,
// analysis and rollback, with the admin API mounted at /turnout/.
//
//	go run ./examples/inprocess -c examples/inprocess/turnout.yaml
//	curl -i localhost:8080/users/1                        # v1 (deprecated) or v2 by the 10 % split
//	curl -i -H 'X-API-Version: 2' localhost:8080/users/1  # pinned to v2
//	curl -i -H 'X-Env: canary' localhost:8080/users/1     # the testers rule: v2 here and at the greeter
//	curl localhost:8080/turnout/api/v1/rollouts/users     # the admin API of `turnout serve`
//
// Each users handler calls the greeter gRPC service (the gRPC server of
// the same binary) through the client interceptors, so a request's colour
// (X-Env, X-User-ID, traceparent, ...) routes the second hop too.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/turnout-gw/turnout/middleware"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
)

func main() {
	cfg := flag.String("c", "examples/inprocess/turnout.yaml", "configuration file")
	httpAddr := flag.String("http", "127.0.0.1:8080", "HTTP listen address")
	grpcAddr := flag.String("grpc", "127.0.0.1:9090", "gRPC listen address")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, *cfg, *httpAddr, *grpcAddr, func(h, g string) {
		fmt.Printf("users on http://%s/users/1, greeter (gRPC) on %s, admin on http://%s/turnout/\n", h, g, h)
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// run serves until ctx ends; ready is called with the bound addresses.
func run(ctx context.Context, cfgPath, httpAddr, grpcAddr string, ready func(httpAddr, grpcAddr string)) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	gl, err := net.Listen("tcp", grpcAddr)
	if err != nil {
		return err
	}
	defer gl.Close()
	// The greeter's client: calls made while serving a routed request carry
	// its colour. The handlers need the client and the client needs the
	// middleware's interceptor: mw is set before the first request.
	var mw *middleware.Middleware
	cc, err := grpc.NewClient(gl.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, inv grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			return mw.UnaryClientInterceptor()(ctx, method, req, reply, cc, inv, opts...)
		}))
	if err != nil {
		return err
	}
	defer cc.Close()
	greeter := testpb.NewTestServiceClient(cc)
	mw, err = middleware.New(middleware.File(cfgPath), middleware.Versions{
		"v1": users("v1", greeter),
		"v2": users("v2", greeter),
	}, middleware.WithLogger(log))
	if err != nil {
		return err
	}
	defer mw.Close()

	gs := grpc.NewServer(grpc.ChainUnaryInterceptor(mw.UnaryServerInterceptor()), grpc.ChainStreamInterceptor(mw.StreamServerInterceptor()))
	if err := mw.RegisterService(gs, &testpb.TestService_ServiceDesc, middleware.Impls{"v1": &greeterImpl{version: "v1"}, "v2": &greeterImpl{version: "v2"}}); err != nil {
		return err
	}
	go func() { _ = gs.Serve(gl) }()
	defer gs.Stop()

	mux := http.NewServeMux()
	mux.Handle("/turnout/", http.StripPrefix("/turnout", mw.AdminHandler()))
	mux.Handle("/", mw)
	hl, err := net.Listen("tcp", httpAddr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(hl) }()
	ready(hl.Addr().String(), gl.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// user is the users service's answer; v2 adds the display name.
type user struct {
	Version string `json:"version"`
	ID      string `json:"id"`
	Name    string `json:"name,omitempty"`
	Display string `json:"display_name,omitempty"`
	Greeter string `json:"greeter"`
	Reason  string `json:"reason"`
}

// users is one version of the HTTP service: it asks the greeter for its
// version (the second hop) and answers JSON.
func users(version string, greeter testpb.TestServiceClient) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, _ := middleware.VersionFrom(r.Context())
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		g, err := greeter.UnaryCall(ctx, &testpb.SimpleRequest{})
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		u := user{Version: version, ID: strings.TrimPrefix(r.URL.Path, "/users/"), Greeter: g.GetServerId(), Reason: d.Reason}
		if version == "v1" {
			u.Name = "Ada Lovelace"
		} else {
			u.Display = "Ada L."
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(u)
	})
}

// greeterImpl is one version of the gRPC service.
type greeterImpl struct {
	testpb.UnimplementedTestServiceServer
	version string
}

// UnaryCall answers with the implementation's version.
func (g *greeterImpl) UnaryCall(ctx context.Context, _ *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	return &testpb.SimpleResponse{ServerId: g.version}, nil
}
