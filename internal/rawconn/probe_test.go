//go:build linux

package rawconn_test

import (
	"errors"
	"io"
	"net"
	"os"
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

func TestAwaitReadable(t *testing.T) {
	t.Run("until the deadline", func(t *testing.T) {
		a, _ := pair(t)
		_ = a.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		if ok, err := rawconn.AwaitReadable(a); !ok || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("ok %v, err %v: want a deadline error", ok, err)
		}
	})
	t.Run("a byte, left unread", func(t *testing.T) {
		a, b := pair(t)
		_ = a.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := b.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		if ok, err := rawconn.AwaitReadable(a); !ok || err != nil {
			t.Fatalf("ok %v, err %v", ok, err)
		}
		buf := make([]byte, 1)
		if _, err := io.ReadFull(a, buf); err != nil || buf[0] != 'x' {
			t.Fatalf("read %q, %v: the wait consumed the byte", buf, err)
		}
	})
	t.Run("the peer's close", func(t *testing.T) {
		a, b := pair(t)
		_ = a.SetReadDeadline(time.Now().Add(5 * time.Second))
		_ = b.Close()
		if ok, err := rawconn.AwaitReadable(a); !ok || err != nil {
			t.Fatalf("ok %v, err %v", ok, err)
		}
	})
	t.Run("closed meanwhile", func(t *testing.T) {
		a, _ := pair(t)
		done := make(chan error, 1)
		go func() { _, err := rawconn.AwaitReadable(a); done <- err }()
		_ = a.Close()
		if err := <-done; !errors.Is(err, net.ErrClosed) {
			t.Fatalf("err %v: want net.ErrClosed", err)
		}
	})
	t.Run("not a socket", func(t *testing.T) {
		p, q := net.Pipe()
		defer p.Close()
		defer q.Close()
		if ok, _ := rawconn.AwaitReadable(p); ok {
			t.Fatal("waited on a net.Pipe")
		}
	})
}
