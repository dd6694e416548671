// Package framing owns the HTTP/1 request-framing guard of Turnout's
// cleartext listeners: it follows each connection's requests as the bytes
// arrive (header blocks, Content-Length bodies, chunked bodies) and refuses
// a request whose length is ambiguous before net/http reads its header
// block: Content-Length together with Transfer-Encoding, Content-Length
// values that differ or are not numbers, a Transfer-Encoding other than a
// single "chunked", Transfer-Encoding on HTTP/1.0, folded header lines and
// bare LF line ends. net/http then answers 400 and closes the connection,
// so nothing of such a request reaches a handler or an upstream.
//
// Why it stays (issue 19's rule: hand-written code stays only while the
// repository shows what it buys). The data plane's default server,
// internal/h1server, parses strictly on its own and needs no guard; the
// guard protects what still runs on net/http's server: the admin port
// (always) and the data plane with TURNOUT_HTTP_SERVER=net/http, the
// baseline that h1server's benchmarks (h1server.BenchmarkServe,
// bench/run.sh's turnout-nethttp) are measured against and a diagnosis
// switch. net/http on its own takes Content-Length with Transfer-Encoding
// (reading the chunks), Transfer-Encoding on HTTP/1.0 (ignoring it), folded
// lines and bare LF: the requests a front end can frame differently, so
// an admin port behind an authenticating proxy could receive a request the
// proxy never saw. TestWhatTheGuardBuys shows net/http taking them and the
// guard refusing them, and fails the day net/http refuses them all itself:
// then this package should be deleted. BenchmarkFeed is its cost.
//
// A connection that switches protocol (h2c prior knowledge, an Upgrade or
// CONNECT request) is no longer followed. The guard cannot see inside TLS:
// HTTPS listeners keep net/http's own rules. A Listener is safe for
// concurrent use; each connection's guard is used by that connection's
// reader only.
package framing
