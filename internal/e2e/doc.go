// Package e2e holds Turnout's real-process integration tests: each test
// builds and runs the turnout binary, drives it over loopback with real
// upstreams and clients, kills it with SIGKILL where a test needs a crash,
// and reads its state through the admin API and the CLI. It has no
// non-test code.
package e2e
