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
// A connection that switches protocol (h2c prior knowledge, an Upgrade or
// CONNECT request) is no longer followed. The guard cannot see inside TLS:
// HTTPS listeners keep net/http's own rules. A Listener is safe for
// concurrent use; each connection's guard is used by that connection's
// reader only.
package framing
