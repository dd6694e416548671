package framing

import (
	"errors"
	"net"
)

// Error is the read error a refused request ends its connection with;
// net/http answers it with 400 Bad Request.
type Error struct{ Reason string }

func (e *Error) Error() string { return "framing: ambiguous request refused: " + e.Reason }

// Listener returns ln whose connections are guarded. report, when not nil,
// is called once per refused request with its reason; it must be safe for
// concurrent use.
func Listener(ln net.Listener, report func(reason string)) net.Listener {
	if report == nil {
		report = func(string) {}
	}
	return &listener{Listener: ln, report: report}
}

type listener struct {
	net.Listener
	report func(string)
}

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &conn{Conn: c, report: l.report}, nil
}

// conn is a guarded connection. Read is called by one goroutine at a time
// (net/http's connection reader).
type conn struct {
	net.Conn
	report func(string)
	sc     scanner
	err    error
}

func (c *conn) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.Conn.Read(p)
	if n > 0 {
		if reason := c.sc.feed(p[:n]); reason != "" {
			c.err = &Error{Reason: reason}
			c.report(reason)
			return 0, c.err
		}
	}
	return n, err
}

// IsRefused reports whether err is a guard's refusal.
func IsRefused(err error) bool {
	var e *Error
	return errors.As(err, &e)
}
