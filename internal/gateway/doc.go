// Package gateway owns the live state of a running Turnout: it compiles a
// configuration into a proxy.Snapshot (routing table + upstream pools),
// publishes it with an atomic pointer swap, reuses unchanged pools, retires
// the others after a drain delay, reloads on file change, SIGHUP and the
// admin API (decode → provision → swap → stop), and owns the listeners.
//
// A rejected configuration never replaces the running one: the errors are
// logged as FILE:LINE:COL lines and the last good snapshot keeps serving.
package gateway
