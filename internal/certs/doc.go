// Package certs owns the TLS material Turnout reads from files: the data
// plane's and admin port's server certificates, the client CA bundle that
// verifies client certificates (mTLS), and the client certificates presented
// to upstreams. Files are re-read when they change (package filevalue),
// without dropping connections: every handshake asks for the current
// material, and at most once per filevalue.CheckInterval (on an injected
// clock) the files are stat'ed and, when a modification time, size or inode
// moved, loaded again. A file that fails to load keeps the last good
// material in service and is logged. Established connections keep the
// certificate they were made with.
package certs
