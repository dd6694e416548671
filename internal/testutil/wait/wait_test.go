package wait

import (
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

func TestPollReturnsWhenTheConditionHolds(t *testing.T) {
	var n atomic.Int64
	err := Poll(10*time.Second, func() error {
		if n.Add(1) < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	if err != nil || n.Load() != 3 {
		t.Fatalf("Poll: %v after %d checks, want nil after 3", err, n.Load())
	}
}

// TestPollIsBounded: a condition that never holds ends in ErrTimeout with
// its last error, after at most timeout/Interval+2 checks.
func TestPollIsBounded(t *testing.T) {
	var n atomic.Int64
	last := errors.New("the last reason")
	err := Poll(5*Interval, func() error { n.Add(1); return last })
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, last) {
		t.Fatalf("Poll: %v, want ErrTimeout wrapping the last error", err)
	}
	if got, max := n.Load(), int64(5+2); got < 1 || got > max {
		t.Fatalf("%d checks, want 1..%d", got, max)
	}
}

// TestForFailsNamingTheCondition runs For against a recorder: it must fail
// with what it waited for.
func TestForFailsNamingTheCondition(t *testing.T) {
	r := &recorder{TB: t}
	func() {
		defer func() { _ = recover() }() // the recorder's Fatalf stops For
		For(r, Interval, "the impossible", func() bool { return false })
	}()
	if want := "waiting for the impossible"; len(r.failed) < len(want) || r.failed[:len(want)] != want {
		t.Fatalf("failure %q, want it to start with %q", r.failed, want)
	}
}

// recorder is a testing.TB whose Fatalf records the message and panics
// instead of failing the real test.
type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	panic("fatal")
}

// TestGoroutineIn sees a goroutine blocked in a network read, and no longer
// once the read has ended.
func TestGoroutineIn(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		if c, err := ln.Accept(); err == nil {
			_, _ = c.Read(make([]byte, 1))
			c.Close()
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	reading := GoroutineIn("runtime_pollWait", "net.(*conn).Read", "wait.TestGoroutineIn.func")
	For(t, 10*time.Second, "the reader blocked", reading)
	c.Close()
	<-done
	if reading() {
		t.Fatal("a goroutine still reads after its read ended")
	}
}
