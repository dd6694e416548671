// Package gateway owns the live state of a running Turnout: it compiles a
// configuration into a proxy.Snapshot (routing table + upstream pools),
// publishes it with an atomic pointer swap, reuses unchanged pools, retires
// the others after a drain delay, reloads on file change, SIGHUP and the
// admin API (decode → provision → swap → stop), and owns the listeners.
// Provisioning loads every version's OpenAPI document and compares each
// rollout's pair (contracts.go); the report is served at
// /api/v1/contracts/{service} and, with require_compatible, holds the
// rollout pending through the rollout engine's Blocker.
//
// Core (core.go) is the socket-free part shared by the proxy's App and the
// in-process middleware: store, stats, rollout engine, Gateway, metrics and
// admin API; StartCore starts one without listeners or upstream pools.
//
// A rejected configuration never replaces the running one: the errors are
// logged as FILE:LINE:COL lines and the last good snapshot keeps serving.
//
// Restarts and upgrades (app.go, server.go): listeners are bound with
// SO_REUSEPORT before the state store is opened, and App.Stop releases the
// store as soon as the listeners stop accepting, before it waits for
// in-flight requests; so a new process on the same addresses takes over the
// state file and serves while the old one drains.
package gateway
