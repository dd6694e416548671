package interrupt_test

import (
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/interrupt"
	"github.com/turnout-gw/turnout/internal/testutil"
)

// pipe is a connected loopback TCP pair.
func pipe(t *testing.T) (net.Conn, net.Conn) { return testutil.TCPPair(t) }

// readErr blocks reading c and returns the error; after 5 s it closes c,
// which is an error no test expects.
func readErr(c net.Conn) error {
	guard := time.AfterFunc(5*time.Second, func() { c.Close() })
	defer guard.Stop()
	_, err := c.Read(make([]byte, 1))
	return err
}

// source is a minimal interrupt.Source over a cancellable context.
type source struct {
	context.Context
	cancel context.CancelFunc
	mu     sync.Mutex
	conn   interrupt.Deadliner
	used   bool // Watch accepted a connection
}

func newSource() *source {
	ctx, cancel := context.WithCancel(context.Background())
	s := &source{Context: ctx, cancel: cancel}
	context.AfterFunc(ctx, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.conn != nil {
			_ = s.conn.SetDeadline(interrupt.Past)
		}
	})
	return s
}

func (s *source) Value(k any) any {
	if k == interrupt.Key {
		return s
	}
	return s.Context.Value(k)
}

func (s *source) Watch(d interrupt.Deadliner) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil {
		return false
	}
	s.conn, s.used = d, true
	if s.Err() != nil {
		_ = d.SetDeadline(interrupt.Past)
	}
	return true
}

func (s *source) Unwatch(d interrupt.Deadliner) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == d {
		s.conn = nil
	}
	return s.Err() == nil
}

type ctxKey struct{}

func TestStart(t *testing.T) {
	for _, tc := range []struct {
		name string
		// ctx returns the context to watch with and the func that cancels
		// what the request's owner cancels.
		ctx         func(s *source) (context.Context, func())
		interrupted bool
		bySource    bool // the source watches, not context.AfterFunc
	}{
		{"plain context: context.AfterFunc", func(*source) (context.Context, func()) {
			return context.WithCancel(context.Background())
		}, true, false},
		{"the source itself", func(s *source) (context.Context, func()) { return s, s.cancel }, true, true},
		{"a value context over the source", func(s *source) (context.Context, func()) {
			return context.WithValue(s, ctxKey{}, 1), s.cancel
		}, true, true},
		{"detached from the source: not interrupted", func(s *source) (context.Context, func()) {
			return context.WithoutCancel(s), s.cancel
		}, false, false},
		{"derived with its own cancel: interrupted by either", func(s *source) (context.Context, func()) {
			ctx, cancel := context.WithCancel(s)
			t.Cleanup(cancel)
			return ctx, s.cancel
		}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSource()
			defer s.cancel()
			ctx, cancel := tc.ctx(s)
			a, b := pipe(t)
			w := interrupt.Start(ctx, a)
			s.mu.Lock()
			used := s.used
			s.mu.Unlock()
			if used != tc.bySource {
				t.Fatalf("watched by the source: %v, want %v", used, tc.bySource)
			}
			cancel()
			if tc.interrupted {
				if err := readErr(a); !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Fatalf("read after cancel: %v, want the past deadline", err)
				}
				if w.Stop() {
					t.Fatal("Stop reported no cancellation")
				}
				return
			}
			go b.Write([]byte("x"))
			if err := readErr(a); err != nil {
				t.Fatalf("read on a detached watch: %v", err)
			}
			if !w.Stop() {
				t.Fatal("Stop of a detached watch reported a cancellation")
			}
		})
	}
}

func TestStopBeforeCancelLeavesTheConnection(t *testing.T) {
	s := newSource()
	a, b := pipe(t)
	w := interrupt.Start(s, a)
	if !w.Stop() {
		t.Fatal("Stop before cancel reported a cancellation")
	}
	s.cancel()
	go b.Write([]byte("x"))
	if err := readErr(a); err != nil {
		t.Fatalf("read after the watch ended: %v", err)
	}
}

func TestSecondWatchFallsBack(t *testing.T) {
	s := newSource()
	a, _ := pipe(t)
	c, _ := pipe(t)
	w1 := interrupt.Start(s, a)
	w2 := interrupt.Start(s, c) // the source watches a already: context.AfterFunc
	s.cancel()
	for _, conn := range []net.Conn{a, c} {
		if err := readErr(conn); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("read after cancel: %v", err)
		}
	}
	if w1.Stop() || w2.Stop() {
		t.Fatal("Stop reported no cancellation")
	}
	var zero interrupt.Watch
	if !zero.Stop() {
		t.Fatal("the zero Watch reported a cancellation")
	}
}
