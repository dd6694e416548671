// Package gateway owns the sockets of `turnout serve` around a core.Core
// (internal/core, the live configuration, rollout engine, stats, store,
// events and admin API): the data-plane and admin listeners (server.go,
// engine.go: h1server or net/http), their limits and bounds (limits.go,
// bounds.go, hardening.go), the xDS server (xds.go), the QN listeners
// (qn.go), the mirror, tracing and the access log (telemetry.go), and the
// takeover of a running Turnout's addresses (takeover.go). App (app.go)
// starts them all around one Core.
//
// Restarts and upgrades (app.go, server.go): listeners are bound with
// SO_REUSEPORT before the state store is opened, and App.Stop releases the
// store as soon as the listeners stop accepting, before it waits for
// in-flight requests; so a new process on the same addresses takes over the
// state file and serves while the old one drains.
package gateway
