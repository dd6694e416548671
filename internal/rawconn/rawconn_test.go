package rawconn_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/rawconn"
	"github.com/turnout-gw/turnout/internal/testutil"
	"github.com/turnout-gw/turnout/internal/testutil/wait"
)

// pair is a loopback TCP connection: a wrapped by Wrap, b plain.
func pair(t *testing.T) (a, b net.Conn) {
	d, b := testutil.TCPPair(t)
	a = rawconn.Wrap(d)
	t.Cleanup(func() { a.Close() })
	return a, b
}

func TestWrapOnlyTCPOnLinux(t *testing.T) {
	a, _ := pair(t)
	if _, plain := a.(*net.TCPConn); !plain != (runtime.GOOS == "linux" && !raceEnabled) {
		t.Fatalf("wrapped: %v on %s (race detector: %v)", !plain, runtime.GOOS, raceEnabled)
	}
	p, q := net.Pipe()
	defer p.Close()
	defer q.Close()
	if rawconn.Wrap(p) != p {
		t.Fatal("a net.Pipe was wrapped")
	}
}

func TestReadWrite(t *testing.T) {
	a, b := pair(t)
	t.Run("both ways", func(t *testing.T) {
		if _, err := a.Write([]byte("ping")); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 4)
		if _, err := io.ReadFull(b, buf); err != nil || string(buf) != "ping" {
			t.Fatalf("peer read %q, %v", buf, err)
		}
		if _, err := b.Write([]byte("pong")); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(a, buf); err != nil || string(buf) != "pong" {
			t.Fatalf("read %q, %v", buf, err)
		}
		if n, err := a.Read(nil); n != 0 || err != nil {
			t.Fatalf("empty read: %d, %v", n, err)
		}
	})
	t.Run("a large write waits for a slow reader", func(t *testing.T) {
		want := bytes.Repeat([]byte("0123456789abcdef"), 1<<18) // 4 MiB: more than the socket buffers
		got := make(chan []byte, 1)
		go func() {
			var buf bytes.Buffer
			chunk := make([]byte, 1000)
			for buf.Len() < len(want) {
				n, err := b.Read(chunk)
				buf.Write(chunk[:n])
				if err != nil {
					break
				}
			}
			got <- buf.Bytes()
		}()
		n, err := a.Write(want)
		if err != nil || n != len(want) {
			t.Fatalf("wrote %d, %v", n, err)
		}
		if g := <-got; !bytes.Equal(g, want) {
			t.Fatalf("peer read %d bytes, not what was written", len(g))
		}
	})
	t.Run("deadline", func(t *testing.T) {
		_ = a.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		if _, err := a.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("read past the deadline: %v", err)
		}
		var ne net.Error
		_ = a.SetReadDeadline(time.Time{})
		_ = a.SetReadDeadline(time.Unix(1, 0))
		if _, err := a.Read(make([]byte, 1)); !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("read with a past deadline: %v", err)
		}
		_ = a.SetReadDeadline(time.Time{})
	})
	t.Run("a past deadline wakes a blocked read", func(t *testing.T) {
		blocked := whenBlocked(func() { _ = a.SetDeadline(time.Unix(1, 0)) })
		if _, err := a.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("read: %v", err)
		}
		_ = a.SetDeadline(time.Time{})
		if err := <-blocked; err != nil {
			t.Fatalf("the read never blocked: %v", err)
		}
	})
	t.Run("EOF and close", func(t *testing.T) {
		b.Close()
		if _, err := a.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("read after the peer closed: %v, want EOF", err)
		}
		a.Close()
		if _, err := a.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("read after close: %v", err)
		}
		if _, err := a.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("write after close: %v", err)
		}
	})
}

func TestCloseWakesABlockedRead(t *testing.T) {
	a, _ := pair(t)
	blocked := whenBlocked(func() { a.Close() })
	if _, err := a.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read: %v", err)
	}
	if err := <-blocked; err != nil {
		t.Fatalf("the read never blocked: %v", err)
	}
}

// whenBlocked runs wake, on a goroutine of its own, once a test goroutine
// waits in the network poller (or after 10 s), and sends on the channel it
// returns nil or why it did not see the wait.
func whenBlocked(wake func()) <-chan error {
	done := make(chan error, 1)
	go func() {
		blocked := wait.GoroutineIn("runtime_pollWait", "rawconn_test.Test")
		err := wait.Poll(10*time.Second, func() error {
			if !blocked() {
				return errors.New("no test goroutine waits in the poller")
			}
			return nil
		})
		wake()
		done <- err
	}()
	return done
}

func TestWriteToAResetPeer(t *testing.T) {
	a, b := pair(t)
	b.(*net.TCPConn).SetLinger(0)
	b.Close() // RST
	var err error
	wait.For(t, 10*time.Second, "a write to fail", func() bool {
		_, err = a.Write(make([]byte, 1024))
		return err != nil
	})
	var se *os.SyscallError
	if !errors.As(err, &se) {
		t.Fatalf("write to a reset peer: %v, want a system call error", err)
	}
}
