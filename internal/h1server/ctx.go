package h1server

import (
	"context"
	"sync"
	"time"

	"github.com/turnout-gw/turnout/internal/interrupt"
)

// closedChan is the Done channel of a context cancelled before anyone
// asked for it.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// reqCtx is a request's context: the connection's values, cancelled when
// the handler returns or the watcher sees the client go. It lives in the
// request's exchange, so it costs no allocation of its own; its Done
// channel is made only when asked for. It is an interrupt.Source (the
// upstream exchange's connection is woken without context.AfterFunc) and
// has an AfterFunc method, so contexts derived from it need no goroutine.
// Its methods are safe for concurrent use.
type reqCtx struct {
	parent context.Context // the connection's values; never cancelled

	mu    sync.Mutex
	done  chan struct{}
	err   error
	conn  interrupt.Deadliner // the watched connection
	funcs []afterFunc
	seq   uint64
}

type afterFunc struct {
	id uint64
	f  func()
}

func (c *reqCtx) Deadline() (time.Time, bool) { return c.parent.Deadline() }

func (c *reqCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		if c.err != nil {
			c.done = closedChan
		} else {
			c.done = make(chan struct{})
		}
	}
	return c.done
}

func (c *reqCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *reqCtx) Value(key any) any {
	if key == interrupt.Key {
		return c
	}
	return c.parent.Value(key)
}

// Watch implements interrupt.Source.
func (c *reqCtx) Watch(d interrupt.Deadliner) bool {
	c.mu.Lock()
	if c.conn != nil {
		c.mu.Unlock()
		return false
	}
	c.conn = d
	cancelled := c.err != nil
	c.mu.Unlock()
	if cancelled {
		_ = d.SetDeadline(interrupt.Past)
	}
	return true
}

// Unwatch implements interrupt.Source.
func (c *reqCtx) Unwatch(d interrupt.Deadliner) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == d {
		c.conn = nil
	}
	return c.err == nil
}

// AfterFunc runs f in its own goroutine once c is cancelled, as
// context.AfterFunc does; context.WithCancel and friends use it for the
// contexts they derive from c.
func (c *reqCtx) AfterFunc(f func()) (stop func() bool) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		go f()
		return func() bool { return false }
	}
	c.seq++
	id := c.seq
	c.funcs = append(c.funcs, afterFunc{id: id, f: f})
	c.mu.Unlock()
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for i, a := range c.funcs {
			if a.id == id {
				c.funcs = append(c.funcs[:i], c.funcs[i+1:]...)
				return true
			}
		}
		return false
	}
}

// cancel cancels c (once): Done closes, the watched connection's I/O ends
// and the after-funcs start.
func (c *reqCtx) cancel() {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = context.Canceled
	if c.done == nil {
		c.done = closedChan
	} else {
		close(c.done)
	}
	conn, funcs := c.conn, c.funcs
	c.funcs = nil
	c.mu.Unlock()
	if conn != nil {
		_ = conn.SetDeadline(interrupt.Past)
	}
	for _, a := range funcs {
		go a.f()
	}
}
