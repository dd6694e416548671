package h1server

import (
	"errors"
	"testing"
)

// TestPrecheckChunks: framing errors inside the buffered bytes are found,
// bodies that are whole or not yet in are let through.
func TestPrecheckChunks(t *testing.T) {
	for _, tc := range []struct {
		buf string
		bad bool
	}{
		{"5\r\nhello\r\n0\r\n\r\n", false},
		{"5;ext=1\r\nhello\r\n0\r\n\r\n", false},
		{"5\r\nhel", false}, // not all in yet
		{"", false},         // nothing in yet
		{"3\r\nabc\r\n4\r\nde", false},
		{"zz\r\nhello\r\n0\r\n\r\n", true},
		{"5\r\nhelloXX0\r\n\r\n", true}, // no CRLF after the data
		{"5\nhello\r\n0\r\n\r\n", true}, // bare LF
		{"ffffffffffffffff1\r\n", true}, // too large
		{"3\r\nabc\r\n-1\r\n", true},
	} {
		err := precheckChunks([]byte(tc.buf))
		var se *statusError
		if bad := errors.As(err, &se) && se.code == 400; bad != tc.bad {
			t.Errorf("%q: %v, want bad=%v", tc.buf, err, tc.bad)
		}
	}
}
