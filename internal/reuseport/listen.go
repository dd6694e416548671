package reuseport

import (
	"context"
	"net"
)

// Listen binds a TCP listener on addr ("host:port"; port 0 picks a free
// one) with SO_REUSEPORT where the platform has it. Its errors are
// net.Listen's (a *net.OpError naming the address). It is safe for
// concurrent use.
func Listen(addr string) (net.Listener, error) {
	lc := net.ListenConfig{Control: control}
	return lc.Listen(context.Background(), "tcp", addr)
}

// Supported reports whether Listen sets SO_REUSEPORT on this platform, so
// that two processes can listen on one address.
func Supported() bool { return supported }
