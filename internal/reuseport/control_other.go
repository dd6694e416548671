//go:build !linux

package reuseport

import "syscall"

const supported = false

// control leaves the socket as net.Listen makes it.
func control(_, _ string, _ syscall.RawConn) error { return nil }
