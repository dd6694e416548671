// Package cli owns Turnout's command line: serve, validate, demo, version,
// contract and the admin-API commands. cmd/turnout only calls Main.
package cli
