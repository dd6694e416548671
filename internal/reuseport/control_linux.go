package reuseport

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

const supported = true

// control sets SO_REUSEPORT on the socket before it is bound. (Go's
// listeners already set SO_REUSEADDR.)
func control(_, _ string, c syscall.RawConn) error {
	var serr error
	if err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	}); err != nil {
		return err
	}
	return os.NewSyscallError("setsockopt SO_REUSEPORT", serr)
}
