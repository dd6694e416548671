// Package route owns the compiled routing table: which service a request
// belongs to, which version it asked for, which rule, experiment or rollout
// split applies, and what lifecycle action follows. Table.Decide turns a
// request into a Decision without allocating on the common paths.
//
// A Decision carries every per-request decision, made once here for every
// applier (proxy, middleware, QN, the xDS export): the version and reason,
// the lifecycle answer, the fault to inject (Fault), the trust outcome
// (Trusted and Removed, set by internal/trust's Policy.Decide, which
// strips an untrusted request's colour before deciding) and the mirror
// selection (Mirror: the version a copy is sent to, by the service's
// mirror methods and percent, sticky on the rollout's key, else drawn
// from the table's random source).
//
// A Table is compiled once from a *config.Config (Compile) and is immutable:
// share it freely between goroutines. A rollout weight change produces a new
// Table (WithWeight) that the caller publishes with an atomic pointer swap,
// so a request always sees one consistent table.
//
// Decision.WriteAnswer and SetServedHeaders (answer.go) are Turnout's own
// answers (400, 404, 406, 410, 308) and the X-Served-Version and lifecycle
// headers, written the same way by every data plane.
//
// Rules may match the client's verified TLS certificate (client_cert:
// subject or SAN; see MatchClientCert), read from the request's
// ConnectionState; an unverified or absent certificate never matches.
//
// The package knows nothing about sockets: the proxy, the in-process
// middleware and the xDS translation all apply the same Table. What a
// decision needs from beyond the request's head — the body a
// negotiate.body source reads — is gathered by the applier, bounded, when
// Table.WantsBody asks for it, and passed in (DecideWith, Input).
package route
