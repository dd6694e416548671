package reuseport

import (
	"fmt"
	"io"
	"net"
	"os"
	"testing"
)

// TestMain runs the tests, or, with REUSEPORT_HOLDER set, is the holder
// process startHolder starts: it listens as REUSEPORT_HOLDER says (a
// turnout, a plain socket, SO_REUSEPORT without the marker), prints the
// address and waits for stdin to close.
func TestMain(m *testing.M) {
	mode := os.Getenv("REUSEPORT_HOLDER")
	if mode == "" {
		os.Exit(m.Run())
	}
	var ln net.Listener
	var err error
	switch mode {
	case "turnout":
		ln, err = Listen("127.0.0.1:0")
	case "plain":
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	case "reuseport":
		ln, err = listenShared("127.0.0.1:0") // no marker
	default:
		err = fmt.Errorf("unknown REUSEPORT_HOLDER %q", mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Println(ln.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}
