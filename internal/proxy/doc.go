// Package proxy owns the data-plane http.Handler: it asks the route.Table
// for a Decision, answers Turnout's own statuses (404, 400, 406, 410, 308),
// sends everything else to the chosen version's upstream pool through
// net/http/httputil.ReverseProxy (so HTTP/1.1, HTTP/2, h2c, gRPC, WebSocket
// upgrades and trailers keep working), retries a failed idempotent request
// once on the fallback version, and propagates versions: X-Turnout-Version
// upstream, X-Served-Version and lifecycle headers downstream. With
// WithMirror and WithTap, ordinary requests are offered to a pipeline.Tap,
// whose exchange sees the primary's answer as it streams to the client and takes the copy from there.
//
// The Handler reads the current snapshot.Snapshot once per request, so a
// reload or a weight change never splits one request across two tables. It
// reports to an observe.Observer and traces with an observe.Tracer, whose
// types live in internal/observe so their users need not import the data
// plane. It is safe for concurrent use.
package proxy
