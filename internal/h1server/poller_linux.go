//go:build linux

package h1server

import (
	"errors"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// poller holds parked plain connections without a goroutine each: their
// sockets sit in an epoll set of its own (one-shot, so one event each),
// one goroutine waits on it and starts the connection's goroutine again
// when its client sends, and a timer per connection closes it at its idle
// timeout. A parked connection costs its conn, socket and timer, no stack.
//
// Ownership: a connection in conns belongs to the poller; whoever takes it
// out (take, under mu: the event loop, the idle timer, Shutdown or Close)
// removes its socket from the set first, so that no socket is closed while
// in the set (its number could be reused by the time it was removed).
type poller struct {
	epfd, wake int // the epoll set; an eventfd that ends run

	mu     sync.Mutex
	conns  map[uint64]*conn
	next   uint64
	closed bool
}

func newPoller() (*poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		_ = unix.Close(epfd)
		return nil, err
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN} // id 0: the wakeup
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wake, &ev); err != nil {
		_ = unix.Close(epfd)
		_ = unix.Close(wake)
		return nil, err
	}
	p := &poller{epfd: epfd, wake: wake, conns: make(map[uint64]*conn)}
	go p.run()
	return p, nil
}

// add parks c, whose socket has nothing to read, until it has or until
// idleEnd. It reports false, doing nothing, for a connection that is not a
// plain socket or when the poller is closed.
func (p *poller) add(c *conn, idleEnd time.Time) bool {
	sc, ok := c.rwc.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.next++
	id := p.next
	err = errors.ErrUnsupported
	cerr := rc.Control(func(fd uintptr) {
		c.fd = int(fd)
		ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT, Fd: int32(id), Pad: int32(id >> 32)}
		err = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, c.fd, &ev)
	})
	if cerr != nil || err != nil {
		return false
	}
	c.pollID = id
	p.conns[id] = c
	d := time.Until(idleEnd)
	if c.idleTimer == nil {
		c.idleTimer = time.AfterFunc(d, func() { p.expire(c) })
	} else {
		c.idleTimer.Reset(d)
	}
	return true
}

// take removes c from the poller, and its socket from the set, and reports
// whether c was there: the caller owns it then.
func (p *poller) take(c *conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.takeLocked(c.pollID)
}

func (p *poller) takeLocked(id uint64) bool {
	c, ok := p.conns[id]
	if !ok || id == 0 {
		return false
	}
	delete(p.conns, id)
	if p.epfd >= 0 {
		_ = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, c.fd, nil)
	}
	c.pollID = 0
	return true
}

// expire closes c at its idle timeout, unless its client woke it first
// (a timer that fired for an earlier parking finds a later idleEnd).
func (p *poller) expire(c *conn) {
	p.mu.Lock()
	ok := c.pollID != 0 && !time.Now().Before(c.idleEnd) && p.takeLocked(c.pollID)
	p.mu.Unlock()
	if ok {
		c.close()
	}
}

// run waits for events and starts each woken connection's goroutine; it
// ends when close wakes it.
func (p *poller) run() {
	events := make([]unix.EpollEvent, 64)
	for {
		n, err := unix.EpollWait(p.epfd, events, -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			p.fail()
			return
		}
		for _, ev := range events[:n] {
			id := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
			if id == 0 {
				p.shut()
				return
			}
			p.mu.Lock()
			c := p.conns[id]
			ok := p.takeLocked(id)
			p.mu.Unlock()
			if ok {
				c.idleTimer.Stop()
				go c.loop(false)
			}
		}
	}
}

// close ends run, which closes the set; parked connections are closed
// first by the server (see Server.closePolled).
func (p *poller) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	one := [8]byte{1} // the eventfd's counter, in the machine's byte order on little-endian; any non-zero value wakes
	_, _ = unix.Write(p.wake, one[:])
}

// fail ends the poller after an error of epoll_wait: its connections go
// on in goroutines of their own (see await), and no more come.
func (p *poller) fail() {
	p.mu.Lock()
	p.closed = true
	var woken []*conn
	for id, c := range p.conns {
		if p.takeLocked(id) {
			woken = append(woken, c)
		}
	}
	p.mu.Unlock()
	for _, c := range woken {
		c.idleTimer.Stop()
		go c.loop(false)
	}
	p.shut()
}

func (p *poller) shut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	_ = unix.Close(p.epfd)
	_ = unix.Close(p.wake)
	p.epfd, p.wake = -1, -1
}
