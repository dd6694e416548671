//go:build linux

package rawconn_test

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/rawconn"
	"github.com/turnout-gw/turnout/internal/testutil"
)

func TestReusable(t *testing.T) {
	t.Run("an open idle connection", func(t *testing.T) {
		a, _ := pair(t)
		_ = a.SetReadDeadline(time.Unix(1, 0)) // a past deadline does not matter
		if !rawconn.Reusable(a) {
			t.Fatal("an open connection was not reusable")
		}
	})
	t.Run("bytes nobody asked for, left unread", func(t *testing.T) {
		a, b := pair(t)
		if _, err := b.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 5*time.Second, "the unasked byte seen", func() bool { return !rawconn.Reusable(a) })
		buf := make([]byte, 1)
		if _, err := io.ReadFull(a, buf); err != nil || buf[0] != 'x' {
			t.Fatalf("read %q, %v: the look consumed the byte", buf, err)
		}
	})
	t.Run("closed by the peer", func(t *testing.T) {
		a, b := pair(t)
		_ = b.Close()
		testutil.Eventually(t, 5*time.Second, "the close seen", func() bool { return !rawconn.Reusable(a) })
	})
	t.Run("reset by the peer", func(t *testing.T) {
		a, b := pair(t)
		_ = b.(*net.TCPConn).SetLinger(0)
		_ = b.Close()
		testutil.Eventually(t, 5*time.Second, "the reset seen", func() bool { return !rawconn.Reusable(a) })
	})
	t.Run("not a socket", func(t *testing.T) {
		p, q := net.Pipe()
		defer p.Close()
		defer q.Close()
		if !rawconn.Reusable(p) {
			t.Fatal("a net.Pipe was reported closed")
		}
	})
}
