// Package admin owns the admin HTTP API (JSON in and out, JSON errors),
// its access control (bearer tokens with viewer and operator roles, the
// actor recorded on events, a per-source limiter of failed authentications
// that never refuses a valid token, and the defences against web pages in
// the operator's browser: allowed Host names, same-origin mutations, JSON
// only without a token; see access.go) and the embedded web dashboard: index.html at "/" and
// its scripts and stylesheet under "/ui/", compiled in from web/ (vanilla
// JS, CSS and inline SVG, no build step, nothing fetched from elsewhere).
// The dashboard reads the same API a script would, plus GET
// /api/v1/series/{service} for its charts. Every route of the admin port
// is registered in routes.go and nowhere else; what other packages serve
// there (metrics, contracts, the mirror's diffs) comes in through Options.
// The package drives the core through small interfaces and never touches
// the data plane's hot path.
package admin
