// Package middleware applies Turnout's routing in process: one binary
// holding v1 and v2 of its handlers (or of its gRPC service
// implementations) gets the negotiation, lifecycle answers, traffic
// colouring rules, sticky experiments and rollout splits of `turnout
// serve`, plus the stats, analysis and automatic rollback, from the same
// configuration file, with the same state store and admin API.
//
// It is the same engine as the proxy, not a copy: the routing table
// (route.Table.Decide), Turnout's own answers (400, 404, 406, 410, 308 and
// the lifecycle headers), the rollout engine, the stats windows, the
// configuration reload (file change, SIGHUP, POST /api/v1/reload), the
// metrics and the admin API are the packages `turnout serve` runs
// (internal/route, internal/core, internal/rollout, ...). It starts
// internal/core, the socket-free part, not the gateway: a program using
// it links no listener, xDS server or Envoy type (TestImportGraph).
//
// # HTTP
//
// New returns an http.Handler serving each request with the handler of the
// version the table chooses; VersionFrom gives that handler the decision
// (version, reason, rule). The chosen handler sees the request as an
// upstream behind the proxy would: X-Turnout-Version set, the path's
// version segment stripped (strip_path_version), and the response already
// carries X-Served-Version and, for a deprecated version, Deprecation,
// Sunset and the successor Link. The handler's status and latency feed the
// rollout analysis: a 5xx (or a panic) is a failure of its version.
//
// The configuration is the format `turnout serve` reads. Versions name an
// upstream there, which the middleware does not use: the same file can
// drive a proxy in front of separate deployments and the middleware inside
// one binary. `fallback` and `mirror` need a second exchange the handler
// has already answered and apply to the proxy only; `listen` and the
// `admin.listen` address are not bound (mount AdminHandler yourself).
// `fault:` blocks are injected from the decision as the proxy injects them
// (an abort of a gRPC call is its status by gRPC's HTTP mapping);
// `contract.validate_percent` above 0 is refused by New and by a reload
// (which keeps the last good configuration), naming the key, since live
// contract validation needs a copy of the answer. These are the applier
// table's refusals for the middleware (config.Config.Refusals); `turnout
// validate --for middleware` refuses fallback and mirror too.
//
// # gRPC
//
// RegisterService registers a service implemented once per version (Impls)
// on a grpc.Server created with UnaryServerInterceptor and
// StreamServerInterceptor. A call to /pkg.Service/Method is routed like an
// HTTP request to that path: the configured service whose
// match.path_prefix is "/pkg.Service" (the full service name) owns it, the
// version comes from the negotiate header as metadata (x-api-version by
// default), rules match metadata as headers and `sticky: header:x-user-id`
// splits by a metadata key. The chosen version's implementation serves the
// call; x-served-version (with deprecation and sunset for a deprecated
// version) is set in the response header metadata. Turnout's own answers
// become statuses: a malformed version InvalidArgument, an unknown or gone
// version NotFound, a redirect version FailedPrecondition. Calls of
// services no configured service matches pass through untouched. For the
// stats a call's status maps to its HTTP equivalent (Internal, Unknown,
// DataLoss 500, Unimplemented 501, Unavailable 503, DeadlineExceeded 504
// are failures).
//
// UnaryClientInterceptor and StreamClientInterceptor (and Transport for
// HTTP clients) propagate, on calls made with the context of a routed
// request or call, x-turnout-version and the colour the request arrived
// with: every header the rules match on, header sticky keys, WithPropagate
// keys, traceparent, tracestate and baggage. The next hop's rules and
// splits then see the same colour.
//
// # Concurrency and lifetime
//
// A Middleware is safe for concurrent use. New starts the rollout engine
// and, for a File configuration, the watcher; Close stops them and closes
// the state store.
package middleware
