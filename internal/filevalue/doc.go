// Package filevalue owns values loaded from files that are loaded again
// when the files change: TLS material (package certs) and the admin tokens
// file. Changes are found by stat (modification time, size, inode) on use,
// at most once per CheckInterval of an injected clock, so there is no
// goroutine to stop and a symlink swap is seen like a rewrite.
package filevalue
