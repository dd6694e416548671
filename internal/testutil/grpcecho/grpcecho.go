// Package grpcecho is a test-only gRPC upstream: a real grpc-go server
// (cleartext HTTP/2 with prior knowledge, i.e. h2c) implementing the
// grpc.testing.TestService that ships inside the grpc module, so tests need no
// protoc. Every answer names the server's version, and the behaviour needed
// by proxy tests (statuses, trailers, ordering checks, slow handlers) is
// driven by the request or by metadata. It is imported only from _test files.
package grpcecho

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Metadata keys the server reads and writes.
const (
	// MDSleep (request) makes UnaryCall wait that long (Go duration) or
	// until the call's context ends.
	MDSleep = "x-sleep"
	// MDUpstreamVersion (response header) is the server's version.
	MDUpstreamVersion = "x-upstream-version"
	// MDSeenTurnoutVersion (response header) echoes the x-turnout-version
	// request metadata the server received.
	MDSeenTurnoutVersion = "x-seen-turnout-version"
	// MDTrailerVersion (trailer) is the server's version, sent as trailer
	// metadata on every call.
	MDTrailerVersion = "x-trailer-version"
)

// Server is a running TestService. Its counters are safe to read
// concurrently.
type Server struct {
	Version string
	Addr    string // host:port

	// Cancelled counts UnaryCall handlers that stopped early because their
	// context ended (deadline or cancellation reached the upstream).
	Cancelled atomic.Int64

	testpb.UnimplementedTestServiceServer
}

// Start serves a TestService answering as version on 127.0.0.1:0. It is
// stopped by t.Cleanup.
func Start(t testing.TB, version string) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Version: version, Addr: ln.Addr().String()}
	gs := grpc.NewServer()
	testpb.RegisterTestServiceServer(gs, s)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = gs.Serve(ln)
	}()
	t.Cleanup(func() {
		stopped := make(chan struct{})
		go func() { gs.GracefulStop(); close(stopped) }()
		select {
		case <-stopped:
		case <-time.After(2 * time.Second):
			gs.Stop()
		}
		<-done
	})
	return s
}

// begin sends the response header metadata and registers the trailer.
func (s *Server) begin(ctx context.Context) error {
	seen := ""
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get("x-turnout-version"); len(v) > 0 {
			seen = v[0]
		}
	}
	if err := grpc.SetHeader(ctx, metadata.Pairs(MDUpstreamVersion, s.Version, MDSeenTurnoutVersion, seen)); err != nil {
		return err
	}
	return grpc.SetTrailer(ctx, metadata.Pairs(MDTrailerVersion, s.Version))
}

func echoStatus(es *testpb.EchoStatus) error {
	if es == nil || es.GetCode() == 0 {
		return nil
	}
	return status.Error(codes.Code(es.GetCode()), es.GetMessage())
}

// UnaryCall answers with ServerId = version and the request payload echoed.
// ResponseStatus, when set, is returned as the call's status instead. The
// x-sleep metadata delays the answer.
func (s *Server) UnaryCall(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get(MDSleep); len(v) > 0 {
			d, err := time.ParseDuration(v[0])
			if err != nil {
				return nil, status.Error(codes.InvalidArgument, err.Error())
			}
			select {
			case <-time.After(d):
			case <-ctx.Done():
				s.Cancelled.Add(1)
				return nil, status.FromContextError(ctx.Err()).Err()
			}
		}
	}
	if err := echoStatus(req.GetResponseStatus()); err != nil {
		return nil, err
	}
	return &testpb.SimpleResponse{ServerId: s.Version, Payload: req.GetPayload()}, nil
}

// StreamingOutputCall sends one message per ResponseParameters entry, with
// body "<version>:<request body>:<index>", waiting IntervalUs before each.
func (s *Server) StreamingOutputCall(req *testpb.StreamingOutputCallRequest, stream grpc.ServerStreamingServer[testpb.StreamingOutputCallResponse]) error {
	ctx := stream.Context()
	if err := s.begin(ctx); err != nil {
		return err
	}
	for i, p := range req.GetResponseParameters() {
		if us := p.GetIntervalUs(); us > 0 {
			select {
			case <-time.After(time.Duration(us) * time.Microsecond):
			case <-ctx.Done():
				return status.FromContextError(ctx.Err()).Err()
			}
		}
		body := fmt.Sprintf("%s:%s:%d", s.Version, req.GetPayload().GetBody(), i)
		if err := stream.Send(&testpb.StreamingOutputCallResponse{Payload: &testpb.Payload{Body: []byte(body)}}); err != nil {
			return err
		}
	}
	return echoStatus(req.GetResponseStatus())
}

// StreamingInputCall expects payload bodies "0", "1", "2", ... in order and
// answers with their total size; a message out of order fails the call with
// FailedPrecondition.
func (s *Server) StreamingInputCall(stream grpc.ClientStreamingServer[testpb.StreamingInputCallRequest, testpb.StreamingInputCallResponse]) error {
	if err := s.begin(stream.Context()); err != nil {
		return err
	}
	var total int32
	for i := 0; ; i++ {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return stream.SendAndClose(&testpb.StreamingInputCallResponse{AggregatedPayloadSize: total})
		}
		if err != nil {
			return err
		}
		body := string(req.GetPayload().GetBody())
		if body != strconv.Itoa(i) {
			return status.Errorf(codes.FailedPrecondition, "message %d: got body %q", i, body)
		}
		total += int32(len(body))
	}
}

// FullDuplexCall answers every request as soon as it arrives with body
// "<version>:<request body>", until the client half-closes. A request with
// ResponseStatus set ends the call with that status.
func (s *Server) FullDuplexCall(stream grpc.BidiStreamingServer[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]) error {
	if err := s.begin(stream.Context()); err != nil {
		return err
	}
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := echoStatus(req.GetResponseStatus()); err != nil {
			return err
		}
		body := s.Version + ":" + string(req.GetPayload().GetBody())
		if err := stream.Send(&testpb.StreamingOutputCallResponse{Payload: &testpb.Payload{Body: []byte(body)}}); err != nil {
			return err
		}
	}
}
