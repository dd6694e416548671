// Package core owns the live configuration of a running Turnout and all
// that is decided from it, without a socket: it compiles a configuration
// into a snapshot.Snapshot (routing table, trust policy, in-flight caps and,
// unless Options.NoPools, upstream pools), publishes it with an atomic
// pointer swap, reuses unchanged pools and retires the others after a
// drain delay, and reloads on file change, SIGHUP and the admin API
// (decode → provision → swap → stop; configs.go, watch.go). A rejected
// configuration never replaces the running one: the errors are logged as
// FILE:LINE:COL lines and the last good snapshot keeps serving.
//
// Core (core.go) starts around it the state store, the stats registry the
// data plane reports to (observe.go), the rollout engine with its
// notifier and analysis sources, the live contract validation, the
// Prometheus metrics, the event log and the admin API handler with its
// tokens (admin_access.go). Provisioning loads every version's OpenAPI
// document and compares each rollout's pair (contracts.go); the report is
// served at /api/v1/contracts/{service} (contracts_api.go) and, with
// require_compatible, holds the rollout pending through the engine's
// Blocker. Validate and Check are the dry run `turnout validate` uses.
//
// Both appliers start a Core: internal/gateway (listeners, data plane,
// admin server, xDS and QN listeners) with Open, Compile and Run, and the
// in-process middleware with Start. Nothing here imports a listener, the
// xDS server or Envoy's types; middleware's import test keeps it so.
package core
