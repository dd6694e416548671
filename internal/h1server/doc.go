// Package h1server is the data plane's own HTTP/1.x server: a lean
// replacement for net/http's server on plain (and TLS HTTP/1.1)
// connections, serving an ordinary http.Handler.
//
// It owns the connection loop (one goroutine per connection, no
// background reader), request parsing (request line, headers, bodies with
// Content-Length or chunked framing, Expect: 100-continue, keep-alive and
// HTTP/1.0), the http.ResponseWriter (framing by Content-Length, chunked
// or connection close, trailers, 1xx answers, Flusher, Hijacker and
// http.ResponseController deadlines) and graceful shutdown. Connections
// that speak HTTP/2 (the h2c prior-knowledge preface, or TLS with ALPN
// "h2") are handed to an ordinary net/http Server (Server.H2), so HTTP/2,
// h2c and gRPC keep net/http's implementation; once H2 is set up they are
// served on the connection's goroutine through its TLSNextProto, as its
// Serve would after reading them, without net/http's per-connection reader
// and writer (8 KiB for the connection's life).
//
// An idle connection holds no buffers and, on Linux, no goroutine. The
// reader and writer are borrowed from pools when a request's first byte
// can be read. A kept-alive connection that stays quiet for parkAfter
// (200 ms: a busy client's next request comes sooner, so the busy path is
// as before) parks: buffers and scratch space go back, its goroutine (and
// the stack the handler grew) ends, and a plain socket waits in the
// server's epoll set (poller) until its client sends or its idle timeout
// ends; a TLS one waits in a new small goroutine reading one byte.
// TestIdleConnMemory bounds the heap and stack an idle connection holds.
//
// The parser is strict, so that no request can be framed differently by
// Turnout and an upstream (request smuggling): it refuses with 400 and
// closes the connection a request with an empty target, both
// Content-Length and Transfer-Encoding, differing Content-Length values,
// any Transfer-Encoding but "chunked" (or any in HTTP/1.0), header names
// or values with control characters or whitespace before the colon, folded
// header lines, bare-LF line ends, chunk sizes that are not 1 to 15
// hex digits followed by CRLF or ";" extensions, and a trailer section
// that breaks the header section's rules; a header section over the limit
// gets 431, a version other than HTTP/1.0 and HTTP/1.1 505, an Expect
// other than one "100-continue" 417. Trailer fields that may not be
// trailers (Content-Length, Transfer-Encoding, Host, Trailer) are dropped.
// These are the only requests net/http's server takes that h1server
// refuses or reads differently: otherwise both read the same method,
// target, headers, body, trailers and next request, which
// FuzzParseDifferential checks against net/http's parser.
//
// Chunk framing that arrived with the head is checked before the handler
// runs (bad framing is refused then, before a proxy picks an upstream); the
// rest as the body is read, whose errors carry their status (HTTPStatus)
// for the handler to answer.
//
// Each write to the connection has a deadline (WriteTimeout): a client
// that stops reading is cut off instead of holding the handler.
//
// A request's context ends when the handler returns. A client that goes
// away while the handler runs is noticed for requests without a body once
// they have run for ClientGoneAfter (one read, on a timer's goroutine; see
// watcher), not before: there is no background reader per request.
//
// What it does not do: content sniffing beyond the first write, and
// HTTP/1.x upgrades to h2c (an "Upgrade: h2c" request reaches the handler
// as net/http's server would pass it).
//
// A Server is safe for concurrent use once Serve has been called; its
// fields must not change afterwards.
package h1server
