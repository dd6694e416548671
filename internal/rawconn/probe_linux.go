//go:build linux

package rawconn

import (
	"net"
	"syscall"
)

// Reusable reports whether an idle connection c may carry another
// request: the peer has not closed or reset it and has sent nothing
// unasked. It looks without waiting, with one recv(2) of MSG_PEEK |
// MSG_DONTWAIT that consumes nothing, and ignores c's deadlines. A
// connection it cannot look at (not a syscall.Conn) is reported reusable.
// It must not be called while another goroutine reads c.
func Reusable(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	reusable := false
	var buf [1]byte
	err = rc.Control(func(fd uintptr) {
		for {
			_, _, e := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			if e == syscall.EINTR {
				continue
			}
			// EAGAIN: nothing to read and no end, the peer still listens.
			// Anything else is an end (0 bytes), a reset, or bytes nobody
			// asked for: the connection is out of step.
			reusable = e == syscall.EAGAIN
			return
		}
	})
	return err == nil && reusable
}

// AwaitReadable waits, in the runtime's network poller and without a read
// buffer, until c has something to read: bytes, the peer's close, or an
// error. It consumes nothing (recv(2) with MSG_PEEK | MSG_DONTWAIT into one
// byte on the stack) and honours c's read deadline. It returns the wait's
// error (a deadline, a closed connection), and ok false, without waiting,
// when c is not a socket it can wait on (not a syscall.Conn). It must not be
// called while another goroutine reads c.
func AwaitReadable(c net.Conn) (ok bool, err error) {
	sc, isSC := c.(syscall.Conn)
	if !isSC {
		return false, nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false, nil
	}
	var buf [1]byte
	err = rc.Read(func(fd uintptr) bool {
		for {
			_, _, e := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			if e == syscall.EINTR {
				continue
			}
			return e != syscall.EAGAIN // else wait in the poller
		}
	})
	return true, err
}
