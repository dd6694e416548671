package upstream

import (
	"bufio"
	"errors"
	"io"
	"net"
	"time"
)

// h1Conn is one upstream connection with its buffers. bw writes through
// cw, which counts the bytes handed to the connection: whether any byte
// of a request left decides whether it may be sent again (see exchange).
// br reads through lr, which bounds what an answer's head may take.
type h1Conn struct {
	net.Conn
	br     *bufio.Reader
	bw     *bufio.Writer
	cw     countingWriter
	lr     headLimit
	stack  *idleStack
	idleAt time.Time
}

func newH1Conn(nc net.Conn, st *idleStack) *h1Conn {
	c := &h1Conn{Conn: nc, cw: countingWriter{w: nc}, lr: headLimit{r: nc, left: -1}, stack: st}
	c.br = bufio.NewReaderSize(&c.lr, 4096)
	c.bw = bufio.NewWriterSize(&c.cw, 4096)
	return c
}

// headLimit reads from r at most left bytes (-1: no limit) and then
// fails with errHeadTooLarge, as net/http's Transport bounds a response's
// head: the limit is set while a head is read and lifted for the body.
// br's read-ahead never makes a head within the limit fail: its reads are
// capped at what is left, and it reads again only when the head it
// parses is incomplete.
type headLimit struct {
	r        io.Reader
	left     int64
	exceeded bool
}

var errHeadTooLarge = errors.New("answer head larger than the limit")

func (l *headLimit) Read(p []byte) (int, error) {
	if l.left < 0 {
		return l.r.Read(p)
	}
	if l.left == 0 {
		l.exceeded = true
		return 0, errHeadTooLarge
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// countingWriter counts the bytes w accepted, including those of a write
// that failed part way.
type countingWriter struct {
	w io.Writer
	n int64
}

func (cw *countingWriter) Write(p []byte) (int, error) {
	n, err := cw.w.Write(p)
	cw.n += int64(n)
	return n, err
}
