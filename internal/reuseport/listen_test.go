package reuseport

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestTwoListenersShareAnAddress: a second Listen on a bound address
// succeeds; after the first closes, every connection reaches the second.
func TestTwoListenersShareAnAddress(t *testing.T) {
	if !Supported() {
		t.Fatal("SO_REUSEPORT is expected on linux (the only platform Turnout's CI runs)")
	}
	a, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b, err := Listen(a.Addr().String())
	if err != nil {
		a.Close()
		t.Fatalf("second listener on %s: %v", a.Addr(), err)
	}
	defer b.Close()
	go serveName(b, "b")
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if got := dialName(t, b.Addr().String()); got != "b" {
			t.Fatalf("connection %d answered by %q, want b", i, got)
		}
	}
}

// TestPlainListenerRefusesSharing: an address bound without SO_REUSEPORT
// (another program) is still refused, with the address in the error.
func TestPlainListenerRefusesSharing(t *testing.T) {
	plain, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	ln, err := Listen(plain.Addr().String())
	if err == nil {
		ln.Close()
		t.Fatal("Listen shared an address bound without SO_REUSEPORT")
	}
	if !strings.Contains(err.Error(), plain.Addr().String()) {
		t.Fatalf("error %q does not name the address", err)
	}
}

func serveName(ln net.Listener, name string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		_, _ = io.WriteString(c, name)
		_ = c.Close()
	}
}

func dialName(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
