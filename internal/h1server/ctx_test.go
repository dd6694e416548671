package h1server

import (
	"context"
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/interrupt"
	"github.com/turnout-gw/turnout/internal/testutil/wait"
)

var _ interrupt.Source = (*reqCtx)(nil)

type valueKey struct{}

func newReqCtx() *reqCtx {
	return &reqCtx{parent: context.WithValue(context.Background(), valueKey{}, "conn value")}
}

// TestReqCtx checks the request context against what context.WithCancel
// would give: values, Done and Err before and after cancel, contexts
// derived from it, and the connection it interrupts.
func TestReqCtx(t *testing.T) {
	t.Run("values and cancel", func(t *testing.T) {
		c := newReqCtx()
		if c.Value(valueKey{}) != "conn value" || c.Value(interrupt.Key) != c {
			t.Fatal("values not answered")
		}
		done := c.Done()
		if c.Err() != nil {
			t.Fatal("Err before cancel")
		}
		c.cancel()
		c.cancel() // once only
		select {
		case <-done:
		default:
			t.Fatal("Done not closed by cancel")
		}
		if !errors.Is(c.Err(), context.Canceled) {
			t.Fatalf("Err %v", c.Err())
		}
	})
	t.Run("Done asked for after cancel is closed", func(t *testing.T) {
		c := newReqCtx()
		c.cancel()
		select {
		case <-c.Done():
		default:
			t.Fatal("Done open after cancel")
		}
	})
	t.Run("derived contexts follow it without a goroutine each", func(t *testing.T) {
		c := newReqCtx()
		child, stopChild := context.WithCancel(c)
		defer stopChild()
		ran := make(chan struct{})
		stop := context.AfterFunc(c, func() { close(ran) })
		unused, unusedStop := context.WithTimeout(c, time.Hour)
		unusedStop() // its after-func is removed
		if len(c.funcs) != 2 {
			t.Fatalf("%d after-funcs registered, want 2", len(c.funcs))
		}
		c.cancel()
		select {
		case <-child.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("derived context not cancelled")
		}
		select {
		case <-ran:
		case <-time.After(5 * time.Second):
			t.Fatal("after-func did not run")
		}
		if stop() {
			t.Fatal("stop after the func ran reported true")
		}
		if !errors.Is(unused.Err(), context.Canceled) {
			t.Fatalf("the derived context stopped first: %v", unused.Err())
		}
	})
	t.Run("interrupts the watched connection", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		end := make(chan struct{})
		defer close(end)
		go func() {
			if s, err := ln.Accept(); err == nil {
				defer s.Close()
				<-end // silent until the test ends
			}
		}()
		nc, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		c := newReqCtx()
		w := interrupt.Start(context.WithValue(c, valueKey{}, 2), nc)
		if c.conn != nc {
			t.Fatal("the request context does not watch the connection")
		}
		go func() { // once the read below waits
			_ = wait.Poll(10*time.Second, func() error {
				if !wait.GoroutineIn("runtime_pollWait", "net.(*conn).Read", "h1server.Test")() {
					return errors.New("not reading yet")
				}
				return nil
			})
			c.cancel()
		}()
		if _, err := nc.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("read: %v, want the past deadline", err)
		}
		if w.Stop() {
			t.Fatal("Stop reported no cancellation")
		}
	})
}
