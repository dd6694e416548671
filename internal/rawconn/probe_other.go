//go:build !linux

package rawconn

import "net"

// Reusable reports true: elsewhere a connection the peer closed is found
// when the request written on it gets no answer.
func Reusable(c net.Conn) bool { return true }

// AwaitReadable returns ok false: elsewhere the caller reads to wait.
func AwaitReadable(c net.Conn) (ok bool, err error) { return false, nil }
