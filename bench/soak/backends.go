package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/grpc"
	testpb "google.golang.org/grpc/interop/grpc_testing"
)

// webBackend is one version of the HTTP service: a 1 KiB-ish JSON answer
// for every path, a WebSocket echo at /web/ws, and a switch that makes its
// plain requests answer 500 (the "bad release" the rollout must catch).
type webBackend struct {
	version string
	fail    atomic.Bool
	srv     *http.Server
	addr    string
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

func startWeb(version string) (*webBackend, error) {
	b := &webBackend{version: version}
	body := []byte(`{"version":"` + version + `","items":[` + repeatItems(20) + `]}`)
	mux := http.NewServeMux()
	mux.HandleFunc("/web/ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(time.Minute))
		for {
			kind, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			if err := c.WriteMessage(kind, append([]byte(version+":"), msg...)); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if b.fail.Load() {
			http.Error(w, `{"error":"bad release"}`, http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b.addr = ln.Addr().String()
	b.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	go func() { _ = b.srv.Serve(ln) }()
	return b, nil
}

func repeatItems(n int) string {
	items := make([]string, n)
	for i := range items {
		items[i] = `{"id":` + strconv.Itoa(i) + `,"name":"item","tags":["a","b"]}`
	}
	return strings.Join(items, ",")
}

func (b *webBackend) close() { _ = b.srv.Close() }

// grpcBackend is one version of the gRPC service (grpc.testing.TestService
// over h2c): unary and streaming calls answer with the version in the
// payload.
type grpcBackend struct {
	testpb.UnimplementedTestServiceServer
	version string
	srv     *grpc.Server
	addr    string
}

func startGRPC(version string) (*grpcBackend, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b := &grpcBackend{version: version, srv: grpc.NewServer(), addr: ln.Addr().String()}
	testpb.RegisterTestServiceServer(b.srv, b)
	go func() { _ = b.srv.Serve(ln) }()
	return b, nil
}

func (b *grpcBackend) close() { b.srv.Stop() }

func (b *grpcBackend) payload(body []byte) *testpb.Payload {
	return &testpb.Payload{Body: append([]byte(b.version+":"), body...)}
}

func (b *grpcBackend) UnaryCall(_ context.Context, in *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	return &testpb.SimpleResponse{Payload: b.payload(in.GetPayload().GetBody())}, nil
}

// FullDuplexCall echoes every message until the client closes its side.
func (b *grpcBackend) FullDuplexCall(stream testpb.TestService_FullDuplexCallServer) error {
	for {
		in, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := stream.Send(&testpb.StreamingOutputCallResponse{Payload: b.payload(in.GetPayload().GetBody())}); err != nil {
			return err
		}
	}
}

// StreamingOutputCall sends one message per requested response size.
func (b *grpcBackend) StreamingOutputCall(in *testpb.StreamingOutputCallRequest, stream testpb.TestService_StreamingOutputCallServer) error {
	for _, p := range in.GetResponseParameters() {
		body := make([]byte, p.GetSize())
		if err := stream.Send(&testpb.StreamingOutputCallResponse{Payload: b.payload(body)}); err != nil {
			return err
		}
	}
	return nil
}
