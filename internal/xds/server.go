package xds

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	clusterservice "github.com/envoyproxy/go-control-plane/envoy/service/cluster/v3"
	discoverygrpc "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	endpointservice "github.com/envoyproxy/go-control-plane/envoy/service/endpoint/v3"
	listenerservice "github.com/envoyproxy/go-control-plane/envoy/service/listener/v3"
	routeservice "github.com/envoyproxy/go-control-plane/envoy/service/route/v3"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"

	"github.com/turnout-gw/turnout/internal/reuseport"
	"github.com/turnout-gw/turnout/internal/route"
	"github.com/turnout-gw/turnout/internal/trust"
)

// Kinds lists the node kinds a snapshot is built for.
var Kinds = []Kind{Envoy, GRPC}

// KindOf classifies a node: a proxyless gRPC client when its
// user_agent_name starts with "gRPC" (grpc-go sends "gRPC Go") or its id
// starts with "grpc"; an Envoy node otherwise.
func KindOf(n *corev3.Node) Kind {
	if strings.HasPrefix(n.GetUserAgentName(), "gRPC") || strings.HasPrefix(strings.ToLower(n.GetId()), "grpc") {
		return GRPC
	}
	return Envoy
}

// nodeHash keys the snapshot cache by node kind: every Envoy node gets the
// Envoy snapshot, every gRPC client the gRPC one.
type nodeHash struct{}

func (nodeHash) ID(n *corev3.Node) string { return KindOf(n).String() }

// newCaches returns one snapshot cache per node kind and the cache that
// serves each request from its node's. Envoy's is ADS-strict: it answers a
// named request only once the names cover every resource of that type in
// the snapshot, so Envoy gets each type's resources as one consistent set
// (Envoy names every route configuration and cluster it was given). A
// proxyless gRPC client subscribes only to what its own target needs —
// xds:///users names the users listener and users' clusters, never
// orders' — so the strict mode would never answer it once two services are
// exported; the gRPC cache answers each request with the named resources
// the snapshot holds, as grpc-go's own test server does for clients that
// request a subset (the library's maintainers' advice, grpc-go#5131). The
// sotw and delta servers copy a stream's first node onto every later
// request, so each request is classified by its own node.
func newCaches() (map[Kind]cachev3.SnapshotCache, cachev3.Cache) {
	caches := map[Kind]cachev3.SnapshotCache{
		Envoy: cachev3.NewSnapshotCache(true, nodeHash{}, nil),
		GRPC:  cachev3.NewSnapshotCache(false, nodeHash{}, nil),
	}
	mux := &cachev3.MuxCache{
		Classify:      func(r *cachev3.Request) string { return KindOf(r.GetNode()).String() },
		ClassifyDelta: func(r *cachev3.DeltaRequest) string { return KindOf(r.GetNode()).String() },
		Caches:        map[string]cachev3.Cache{},
	}
	for k, c := range caches {
		mux.Caches[k.String()] = c
	}
	return caches, mux
}

// Server is Turnout's ADS server. Update (or Publish) gives it each routing
// table; it translates the table for every node kind and pushes the
// snapshots whose version changed. It is safe for concurrent use.
type Server struct {
	log         *slog.Logger
	envoyListen string
	hook        func(Kind, *Resources)
	observe     func(Nack)
	now         func() time.Time

	caches map[Kind]cachev3.SnapshotCache // newCaches: one per node kind
	cache  cachev3.Cache                  // serves each request from its node kind's
	nacks  *nackTracker
	gs     *grpc.Server
	ln     net.Listener
	done   chan struct{}

	listen func(addr string) (net.Listener, error) // WithListen

	authz     *authz         // the ext_authz service Envoy asks about trust
	trustOpts []trust.Option // WithTrustOptions

	mu       sync.Mutex // serialises Update
	versions map[Kind]string

	// Publish hands tables to a worker so the caller never waits on a slow
	// client: only the latest pending table is translated.
	pending chan *route.Table
	ctx     context.Context
	cancel  context.CancelFunc
	worker  chan struct{}
}

// Option configures a Server.
type Option func(*Server) error

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option {
	return func(s *Server) error { s.log = l; return nil }
}

// WithEnvoyListen sets the address of the Envoy nodes' listener for
// tables whose configuration does not set xds.envoy_listen.
func WithEnvoyListen(addr string) Option {
	return func(s *Server) error { s.envoyListen = addr; return nil }
}

// WithNackObserver is called once per rejected response (after it was
// logged), e.g. to count it and record an event. It must not block.
func WithNackObserver(f func(Nack)) Option {
	return func(s *Server) error { s.observe = f; return nil }
}

// WithClock injects the clock used for NACK times.
func WithClock(now func() time.Time) Option {
	return func(s *Server) error {
		if now == nil {
			return errors.New("xds: nil clock")
		}
		s.now = now
		return nil
	}
}

// WithListen sets how Start binds its address (default reuseport.Listen,
// exclusive; a takeover passes reuseport.ListenBeside).
func WithListen(f func(addr string) (net.Listener, error)) Option {
	return func(s *Server) error {
		if f == nil {
			return errors.New("xds: nil listen function")
		}
		s.listen = f
		return nil
	}
}

// WithResourceHook lets f change the resources of every snapshot after
// translation and before validation. It exists for tests that need a
// resource a client rejects.
func WithResourceHook(f func(Kind, *Resources)) Option {
	return func(s *Server) error { s.hook = f; return nil }
}

// WithTrustOptions passes opts to trust.New when the server compiles the
// trust policy its ext_authz service applies (e.g. trust.WithReport to
// count the colour Envoy removed).
func WithTrustOptions(opts ...trust.Option) Option {
	return func(s *Server) error { s.trustOpts = append(s.trustOpts, opts...); return nil }
}

// New returns a Server that is not listening yet.
func New(opts ...Option) (*Server, error) {
	s := &Server{log: slog.Default(), now: time.Now, versions: map[Kind]string{}, pending: make(chan *route.Table, 1),
		listen: reuseport.Listen, authz: &authz{}}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	s.caches, s.cache = newCaches()
	s.nacks = newNackTracker(s)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// Start binds addr (with SO_REUSEPORT, so a new Turnout can bind it while
// an old one drains; exclusive unless WithListen says otherwise) and serves ADS (and the single-type xDS services) on
// it, state-of-the-world and delta.
func (s *Server) Start(addr string) error {
	ln, err := s.listen(addr)
	if err != nil {
		return fmt.Errorf("xds listen %s: %w", addr, err)
	}
	s.ln = ln
	s.gs = grpc.NewServer(grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}))
	xs := serverv3.NewServer(s.ctx, s.cache, s.nacks.callbacks())
	discoverygrpc.RegisterAggregatedDiscoveryServiceServer(s.gs, xs)
	listenerservice.RegisterListenerDiscoveryServiceServer(s.gs, xs)
	routeservice.RegisterRouteDiscoveryServiceServer(s.gs, xs)
	clusterservice.RegisterClusterDiscoveryServiceServer(s.gs, xs)
	endpointservice.RegisterEndpointDiscoveryServiceServer(s.gs, xs)
	authv3.RegisterAuthorizationServer(s.gs, s.authz)
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		if err := s.gs.Serve(ln); err != nil {
			s.log.Error("xds server stopped", "error", err)
		}
	}()
	s.worker = make(chan struct{})
	go s.run()
	s.log.Info("xds serving", "addr", ln.Addr().String())
	return nil
}

// Addr returns the bound address ("" before Start).
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Publish hands a new table to the server without waiting: the latest one
// is translated and pushed by a worker (Start runs it).
func (s *Server) Publish(t *route.Table) {
	for {
		select {
		case s.pending <- t:
			return
		default:
		}
		select { // replace a table not yet taken
		case <-s.pending:
		default:
		}
	}
}

func (s *Server) run() {
	defer close(s.worker)
	for {
		select {
		case <-s.ctx.Done():
			return
		case t := <-s.pending:
			if err := s.Update(s.ctx, t); err != nil && s.ctx.Err() == nil {
				s.log.Error("xds: snapshot not served", "error", err)
			}
		}
	}
}

// Update translates t for every node kind and sets the snapshots whose
// version changed (an unchanged table pushes nothing). A snapshot whose
// resources fail validation is not served; the previous one stays. The
// ext_authz service applies t's trust block from now on (before the
// snapshot, so an Envoy that gets a trust-enforcing listener finds the
// policy in place).
func (s *Server) Update(ctx context.Context, t *route.Table) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	pol, err := trust.New(t.Config.Trust, t, s.trustOpts...)
	if err != nil {
		return fmt.Errorf("xds: trust policy: %w", err) // the previous table and policy stay
	}
	s.authz.state.Store(&authzState{table: t, policy: pol})
	var errs []error
	listen := s.envoyListen
	if x := t.Config.XDS; x != nil && x.EnvoyListen != "" {
		listen = x.EnvoyListen // a reload may move it
	}
	for _, k := range Kinds {
		res, _ := Translate(t, Options{Kind: k, EnvoyListen: listen})
		if s.hook != nil {
			s.hook(k, res)
		}
		snap, err := res.Snapshot()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s snapshot: %w", k, err))
			continue
		}
		v := snap.GetVersion(resourcev3.ListenerType) // every type carries the snapshot's version
		if s.versions[k] == v {
			continue
		}
		s.nacks.setCurrent(k, v)
		if err := s.caches[k].SetSnapshot(ctx, k.String(), snap); err != nil {
			errs = append(errs, fmt.Errorf("%s snapshot: %w", k, err))
			continue
		}
		s.versions[k] = v
		s.log.Debug("xds snapshot", "node", k.String(), "version", v)
	}
	return errors.Join(errs...)
}

// Version returns the version of the snapshot served to a kind of node
// ("" before the first Update).
func (s *Server) Version(k Kind) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.versions[k]
}

// Stop closes every stream and the listener.
func (s *Server) Stop() {
	s.cancel()
	if s.gs == nil {
		return
	}
	stopped := make(chan struct{})
	go func() { s.gs.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(2 * time.Second):
		s.gs.Stop()
	}
	<-s.done
	<-s.worker
}
