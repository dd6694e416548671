// Package interrupt owns how a request's cancellation stops the blocking
// I/O a handler started for that request on another connection (an
// upstream exchange): the connection gets a deadline in the past.
//
// context.AfterFunc does that for any context, at the cost of several
// allocations and lock round trips per request. A request context that
// implements Source (the data plane's HTTP/1.x server's do) does it with
// none: it holds the one connection being watched and sets its deadline
// when it is cancelled. Start picks Source when the context's cancellation
// is exactly the Source's (not a derived context with its own deadline,
// nor one detached with context.WithoutCancel), and context.AfterFunc
// otherwise.
package interrupt
