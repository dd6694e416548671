package middleware

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/textproto"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// Impls maps version names to implementations of one gRPC service (values
// implementing the ServiceDesc's HandlerType, as given to
// grpc.Server.RegisterService).
type Impls map[string]any

// grpcRegistry holds the registered gRPC services, by full method name
// ("/pkg.Service/Method"). It is copied on write: registration is rare,
// lookups happen on every call.
type grpcRegistry struct {
	mu      sync.Mutex
	methods atomic.Pointer[map[string]*grpcMethod]
}

// grpcMethod is one method of a registered service and its implementations.
type grpcMethod struct {
	impls  Impls
	unary  grpc.MethodHandler // nil for streams
	stream grpc.StreamHandler
}

func (g *grpcRegistry) lookup(fullMethod string) *grpcMethod {
	if p := g.methods.Load(); p != nil {
		return (*p)[fullMethod]
	}
	return nil
}

// RegisterService registers a gRPC service implemented once per version:
// the server's calls to it (which must pass through UnaryServerInterceptor
// and StreamServerInterceptor) are routed by the table like HTTP requests
// to "/pkg.Service/Method" and served by the chosen version's
// implementation. A configured service matches the calls when its
// match.path_prefix is "/pkg.Service" (its full name). The implementation
// of the service's default version is what s itself holds.
func (m *Middleware) RegisterService(s grpc.ServiceRegistrar, desc *grpc.ServiceDesc, impls Impls) error {
	if desc == nil || len(impls) == 0 {
		return errors.New("middleware: RegisterService needs a service description and its implementations")
	}
	ht := reflect.TypeOf(desc.HandlerType).Elem()
	for _, vn := range slices.Sorted(maps.Keys(impls)) {
		if impls[vn] == nil || !reflect.TypeOf(impls[vn]).Implements(ht) {
			return fmt.Errorf("middleware: implementation of %s for version %q does not implement %v", desc.ServiceName, vn, ht)
		}
	}
	path := "/" + desc.ServiceName + "/"
	svc := m.table().Decide(&http.Request{Method: http.MethodPost, URL: &url.URL{Path: path}, Header: http.Header{}}).Service
	if svc == nil {
		return fmt.Errorf("middleware: no configured service matches gRPC service %s: give one match: { path_prefix: /%s }", desc.ServiceName, desc.ServiceName)
	}
	for _, vn := range slices.Sorted(maps.Keys(impls)) {
		if svc.Version(vn) == nil {
			return fmt.Errorf("middleware: implementation of %s for version %q, which service %q does not declare", desc.ServiceName, vn, svc.Name)
		}
	}
	primary := impls[svc.Default.Name]
	if primary == nil {
		primary = impls[slices.Sorted(maps.Keys(impls))[0]]
	}
	s.RegisterService(desc, primary)

	m.grpc.mu.Lock()
	defer m.grpc.mu.Unlock()
	next := map[string]*grpcMethod{}
	if p := m.grpc.methods.Load(); p != nil {
		for k, v := range *p {
			next[k] = v
		}
	}
	for _, md := range desc.Methods {
		next[path+md.MethodName] = &grpcMethod{impls: impls, unary: md.Handler}
	}
	for _, sd := range desc.Streams {
		next[path+sd.StreamName] = &grpcMethod{impls: impls, stream: sd.Handler}
	}
	m.grpc.methods.Store(&next)
	return nil
}

// UnaryServerInterceptor routes unary calls of registered services to the
// chosen version's implementation (see RegisterService), sets
// x-served-version (and deprecation, sunset for a deprecated version) in
// the response header metadata and records the call for analysis. Calls of
// other services pass through untouched.
func (m *Middleware) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		gm := m.grpc.lookup(info.FullMethod)
		if gm == nil || gm.unary == nil {
			return handler(ctx, req)
		}
		md, _ := metadata.FromIncomingContext(ctx)
		c, impl, err := m.route(ctx, info.FullMethod, &md)
		if c == nil {
			return handler(ctx, req)
		}
		if err != nil {
			return nil, err
		}
		if err := grpc.SetHeader(ctx, c.header); err != nil {
			return nil, err
		}
		resp, err := gm.unary(gm.impls[impl], c.context(ctx, nil, md), noDecode,
			func(ctx context.Context, _ any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
				return h(ctx, req)
			})
		m.done(c, err)
		return resp, err
	}
}

// noDecode leaves the freshly allocated request of a generated method
// handler alone: the interceptor passed to it serves the request already
// decoded instead.
func noDecode(any) error { return nil }

// StreamServerInterceptor is UnaryServerInterceptor for streaming calls
// (client, server and bidirectional streams).
func (m *Middleware) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		gm := m.grpc.lookup(info.FullMethod)
		if gm == nil || gm.stream == nil {
			return handler(srv, ss)
		}
		ctx := ss.Context()
		md, _ := metadata.FromIncomingContext(ctx)
		c, impl, err := m.route(ctx, info.FullMethod, &md)
		if c == nil {
			return handler(srv, ss)
		}
		if err != nil {
			return err
		}
		if err := ss.SetHeader(c.header); err != nil {
			return err
		}
		err = gm.stream(gm.impls[impl], &routedStream{ServerStream: ss, ctx: c.context(ctx, nil, md)})
		m.done(c, err)
		return err
	}
}

// routedStream is a server stream whose context carries the decision.
type routedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *routedStream) Context() context.Context { return s.ctx }

// call is one routed gRPC call and the response header metadata it sets.
type call struct {
	exchange
	header metadata.MD
}

// route decides a call to fullMethod carrying *md from ctx's peer. A nil
// call means no configured service matches: the call passes through. A
// non-nil error is the call's answer (Turnout's own answers as gRPC
// statuses, a version without an implementation, or an injected fault's
// abort); an injected delay holds the call here. impl is the chosen
// version's name. Colour the trust policy removed is removed from *md too
// (a copy), so the implementation and the next hop do not see it.
func (m *Middleware) route(ctx context.Context, fullMethod string, md *metadata.MD) (*call, string, error) {
	c := &call{exchange: exchange{start: m.now()}}
	r := callRequest(fullMethod, *md)
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		r.RemoteAddr = p.Addr.String()
	}
	c.d = m.decide(r)
	*md = keptMetadata(*md, r.Header)
	if c.d.Status == http.StatusNotFound {
		return nil, "", nil
	}
	m.obs.Decided(&c.d)
	if c.d.Status != 0 {
		m.report(&c.exchange, false, c.d.Status, nil)
		return c, "", status.Error(answerCode(c.d.Status), c.d.AnswerMessage())
	}
	gm := m.grpc.lookup(fullMethod)
	if gm.impls[c.d.Version.Name] == nil {
		err := status.Errorf(codes.Unimplemented, "no implementation of version %s of %s in this process", c.d.Version.Name, c.d.Service.Name)
		m.done(c, err)
		return c, "", err
	}
	h := http.Header{}
	c.d.SetServedHeaders(h, r, c.d.Version)
	c.header = make(metadata.MD, len(h))
	for k, v := range h {
		if k != "Link" { // a successor path means nothing to a gRPC client
			c.header[strings.ToLower(k)] = v
		}
	}
	if c.d.Fault != nil {
		if err := m.injectCallFault(ctx, c); err != nil {
			return c, "", err
		}
	}
	return c, c.d.Version.Name, nil
}

// done records a served call in the stats and metrics, with the HTTP
// status equivalent of its gRPC status (5xx is the version's failure).
func (m *Middleware) done(c *call, err error) {
	m.report(&c.exchange, true, httpStatus(status.Code(err)), err)
}

// callRequest is the request Decide sees for a gRPC call: POST of the full
// method name, the :authority as host and the metadata (binary -bin keys
// aside) as headers, so header rules, the version header and header sticky
// keys apply to metadata.
func callRequest(fullMethod string, md metadata.MD) *http.Request {
	h := make(http.Header, len(md))
	host := ""
	for k, v := range md {
		switch {
		case k == ":authority" && len(v) > 0:
			host = v[0]
		case strings.HasPrefix(k, ":") || strings.HasSuffix(k, "-bin"):
		default:
			h[textproto.CanonicalMIMEHeaderKey(k)] = v
		}
	}
	return &http.Request{Method: http.MethodPost, URL: &url.URL{Path: fullMethod}, Header: h, Host: host, ProtoMajor: 2}
}

// keptMetadata is md without the keys the trust policy removed from h,
// the headers callRequest made of md: md itself when none was.
func keptMetadata(md metadata.MD, h http.Header) metadata.MD {
	var kept metadata.MD
	for k := range md {
		if strings.HasPrefix(k, ":") || strings.HasSuffix(k, "-bin") {
			continue
		}
		if _, ok := h[textproto.CanonicalMIMEHeaderKey(k)]; ok {
			continue
		}
		if kept == nil {
			kept = md.Copy()
		}
		delete(kept, k)
	}
	if kept == nil {
		return md
	}
	return kept
}

// answerCode is the gRPC status of Turnout's own answers.
func answerCode(httpStatus int) codes.Code {
	switch httpStatus {
	case http.StatusBadRequest:
		return codes.InvalidArgument
	case http.StatusNotAcceptable, http.StatusGone:
		return codes.NotFound
	default: // 308: gRPC cannot redirect
		return codes.FailedPrecondition
	}
}

// httpStatus maps a gRPC status code to its HTTP equivalent (as gRPC's
// HTTP mapping does), for the stats and the requests metric.
func httpStatus(c codes.Code) int {
	switch c {
	case codes.OK:
		return http.StatusOK
	case codes.Canceled:
		return 499
	case codes.InvalidArgument, codes.FailedPrecondition, codes.OutOfRange:
		return http.StatusBadRequest
	case codes.DeadlineExceeded:
		return http.StatusGatewayTimeout
	case codes.NotFound:
		return http.StatusNotFound
	case codes.AlreadyExists, codes.Aborted:
		return http.StatusConflict
	case codes.PermissionDenied:
		return http.StatusForbidden
	case codes.Unauthenticated:
		return http.StatusUnauthorized
	case codes.ResourceExhausted:
		return http.StatusTooManyRequests
	case codes.Unimplemented:
		return http.StatusNotImplemented
	case codes.Unavailable:
		return http.StatusServiceUnavailable
	default: // Unknown, Internal, DataLoss
		return http.StatusInternalServerError
	}
}
