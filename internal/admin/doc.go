// Package admin owns the admin HTTP API (JSON in and out, JSON errors, the
// bearer token on every mutation when one is configured) and, later, the
// embedded dashboard. It drives the gateway through small interfaces and
// never touches the data plane's hot path.
package admin
