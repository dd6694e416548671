//go:build !linux

package reuseport

import (
	"net"
	"os"
)

var selfPID = os.Getpid()

// mark is a no-op: other processes cannot be inspected here.
func mark() {}

// Holders is unknown here: it returns nil.
func Holders(string) ([]Holder, error) { return nil, nil }

// alone has nothing to look at here; the plain bind already refused a
// shared address.
func alone(net.Listener) error { return nil }
