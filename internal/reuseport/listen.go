package reuseport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"
)

// ErrUnsupported is ListenBeside's error where the platform has no
// SO_REUSEPORT.
var ErrUnsupported = errors.New("binding beside another process needs SO_REUSEPORT (linux)")

// Holder is a process listening on an address.
type Holder struct {
	// PID is 0 when the holder could not be found (another user's
	// process, or not Linux).
	PID int
	// Command is the holder's /proc/PID/comm ("" when unknown).
	Command string
	// Turnout is true when the holder carries Turnout's marker (see the
	// package doc).
	Turnout bool
}

// InUseError is Listen's error for an address another socket holds.
type InUseError struct {
	Addr   string
	Holder Holder
	// Self is true when the holder is this process (two of its own
	// listeners on one address).
	Self bool
	// Err is the bind error (syscall.EADDRINUSE inside).
	Err error
}

// Error names the holder as far as it is known.
func (e *InUseError) Error() string {
	switch h := e.Holder; {
	case e.Self:
		return "address in use by another listener of this process"
	case h.Turnout:
		return fmt.Sprintf("address in use by another turnout (pid %d)", h.PID)
	case h.PID > 0:
		return fmt.Sprintf("address in use by pid %d (%s)", h.PID, h.Command)
	}
	return "address in use"
}

// Unwrap returns the bind error.
func (e *InUseError) Unwrap() error { return e.Err }

// Listen binds an exclusive TCP listener on addr ("host:port"; port 0 picks
// a free one) with SO_REUSEPORT where the platform has it: when another
// socket listens on addr (another Turnout included) it fails with an
// *InUseError and leaves that socket alone. The check has a window of a
// few system calls between the probe and the real bind; the look at
// /proc/net/tcp after the bind closes it (see the package doc). Other errors
// are net.Listen's. It is safe for concurrent use.
func Listen(addr string) (net.Listener, error) {
	mark()
	if fixedPort(addr) {
		probe, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, inUse(addr, err)
		}
		if err := probe.Close(); err != nil {
			return nil, err
		}
	}
	ln, err := listenShared(addr)
	if err != nil {
		return nil, inUse(addr, err)
	}
	if err := alone(ln); err != nil {
		_ = ln.Close()
		return nil, err
	}
	return ln, nil
}

// ListenBeside binds a TCP listener on addr with SO_REUSEPORT beside the
// Turnout that holds it (turnout serve --takeover): no check of who else
// listens there. Use Holders first to know whom to replace.
func ListenBeside(addr string) (net.Listener, error) {
	if !supported {
		return nil, ErrUnsupported
	}
	mark()
	ln, err := listenShared(addr)
	if err != nil {
		return nil, inUse(addr, err)
	}
	return ln, nil
}

// Supported reports whether listeners get SO_REUSEPORT on this platform, so
// that ListenBeside can work.
func Supported() bool { return supported }

func listenShared(addr string) (net.Listener, error) {
	lc := net.ListenConfig{Control: control}
	return lc.Listen(context.Background(), "tcp", addr)
}

// inUse turns an EADDRINUSE into an *InUseError naming the holder; other
// errors pass unchanged.
func inUse(addr string, err error) error {
	if !errors.Is(err, syscall.EADDRINUSE) {
		return err
	}
	e := &InUseError{Addr: addr, Err: err}
	if hs, herr := Holders(addr); herr == nil && len(hs) > 0 {
		e.Holder = hs[0]
		e.Self = hs[0].PID == selfPID
	}
	return e
}

// fixedPort reports whether addr names a port other than 0 (a probe of
// port 0 would test a random port).
func fixedPort(addr string) bool {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return true // let net.Listen report it
	}
	n, err := strconv.Atoi(port)
	return err != nil || n != 0
}
