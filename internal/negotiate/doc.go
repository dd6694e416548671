// Package negotiate decides which API version a request asks for and resolves
// that request against the versions a service declares.
//
// The package owns two steps of Turnout's request semantics:
//
//   - extraction: a [Negotiator] looks at the configured sources (a header, the
//     Accept header's vendor media types and version= parameters, a leading
//     /vN path segment set aside by [SplitPathVersion], a query parameter, a
//     member of a JSON body named by a JSON [Pointer]) in order of
//     precedence and returns the raw version text of the first source that
//     carries one. The body is the caller's to read, bounded:
//     [Negotiator.WantsBody] says when, [Negotiator.MaxBody] how much, and
//     [Negotiator.RequestedIn] takes what was read;
//   - resolution: a [Resolver] maps that text to one of the declared version
//     names, either by exact (case-insensitive) name or as a number or semver
//     range selecting the highest declared version that satisfies it.
//
// It knows nothing about sockets, routing or configuration files: it never
// reads a request body itself. Callers map
// [ErrMalformed] to HTTP 400 and [ErrNotAcceptable] to HTTP 406.
//
// # Concurrency
//
// A [Negotiator] and a [Resolver] are built once and never change afterwards;
// both are safe for concurrent use by any number of goroutines. The Resolver's
// internal cache of range results is guarded by its own lock and is bounded.
// The Options and names passed to [New] and [NewResolver] are copied, so the
// caller may reuse them.
//
// # Allocation
//
// The hot paths are allocation-free: [Negotiator.Requested] for plain header
// values, Accept headers with vendor types or version= parameters, plain query
// values and absent versions; [SplitPathVersion]; and [Resolver.Resolve] for
// exact names and plain numbers such as "2", "v2", "2.1". Errors are returned
// as the unwrapped sentinels so that rejecting bad input costs nothing either.
package negotiate
