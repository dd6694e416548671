// Package upstream owns the pools of upstream targets that Turnout proxies to.
//
// A [Pool] is one named upstream from the configuration (config.Upstream): a
// fixed set of http or https targets behind one transport configuration. The
// package owns
//
//   - transports per protocol: HTTP/1.1 only (http1, the default), HTTP/2 by
//     ALPN over TLS (h2) and cleartext HTTP/2 with prior knowledge (h2c), all
//     tuned for a proxy (large idle pools, no transparent compression, no
//     environment proxy);
//   - round-robin balancing over the targets that are in rotation, falling
//     back to all targets ("panic mode", as in Envoy) when none is;
//   - passive ejection of a target after EjectAfter consecutive connect
//     failures (dial errors, refused connections, TLS handshake failures);
//   - active health checks (GET target+path every interval, each over a
//     fresh connection in the pool's protocol, so a check also proves that
//     the target accepts connections).
//
// It knows nothing about routing, versions or services: callers decide which
// pool a request goes to and what Host header it carries.
//
// # Transports per request
//
// Each pool holds up to three *http.Transport values sharing one dialer and
// one TLS configuration:
//
//   - ordinary requests use the pool's protocol with ResponseHeaderTimeout set
//     to the pool's timeout (net/http applies it to HTTP/2 connections too);
//   - gRPC requests (Content-Type application/grpc...) use the same protocol
//     without a response-header timeout: streams may legitimately wait for
//     headers and gRPC carries its own deadline;
//   - requests with an Upgrade header (WebSocket and the like) always use an
//     HTTP/1.1-only transport, so the 101 response has a writable body that
//     httputil.ReverseProxy can splice, even in h2 and h2c pools.
//
// # Ejection and health
//
// Without health checks an ejected target returns to rotation after EjectFor,
// measured with the pool's clock (see [WithClock]). With health checks an
// ejected target returns only after a successful check; two consecutive failed
// checks take a target out of rotation, one success brings it back.
//
// # Concurrency
//
// A Pool is safe for concurrent use. Target selection on the request path is
// lock-free and allocation-free: it reads an immutable snapshot of the targets
// in rotation through an atomic pointer and advances an atomic counter. State
// changes (ejection, health transitions) are rare; they take the pool's mutex
// and publish a new snapshot. [Pool.Start] starts the single health-check
// goroutine of the pool; [Pool.Close] stops it, waits for it, closes every
// health-check connection and the idle proxying connections. Close is idempotent, and a pool is not restarted after Close.
//
// RoundTrip mutates req.URL (scheme, host and, for targets with a base path,
// the path). A caller that retries a request must restore req.URL (or send a
// fresh copy) before calling RoundTrip again, or the base path is joined twice.
package upstream
