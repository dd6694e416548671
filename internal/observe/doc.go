// Package observe owns the small types through which an applier reports
// what it did with each request, so that the packages which measure it
// (the stats registry's observer in internal/core, the Prometheus metrics,
// spans and access log in internal/telemetry) depend on these types and
// not on the applier: Observer (with Funcs, its nil-safe adapter, and All,
// a fan-out), the Attempt and Result it is told about, and the Tracer,
// RequestSpan and AttemptSpan interfaces of request tracing.
//
// Both appliers report here: the data-plane proxy (internal/proxy) and the
// in-process middleware. The package is a leaf: it imports internal/route
// for the Decision and Version being reported and nothing else of the
// module, so importing it never links a listener, a reverse proxy or an
// upstream pool. It holds no state; implementations say how they are safe
// for concurrent use.
package observe
