package h1server

import (
	"bufio"
	"io"
	"net"
	"sync/atomic"
	"testing"
)

// countingConn counts the reads that reach the connection.
type countingConn struct {
	net.Conn
	reads atomic.Int64
}

func (c *countingConn) Read(b []byte) (int, error) {
	c.reads.Add(1)
	return c.Conn.Read(b)
}

// TestPeekedConnReadsFramesTogether: once the peeked bytes are consumed,
// small reads (an HTTP/2 frame header, then its payload) are still served
// from the buffer, so frames that arrived in one segment cost one read of
// the connection, not two per frame.
func TestPeekedConnReadsFramesTogether(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	cc := &countingConn{Conn: a}
	p := &peekedConn{Conn: cc, r: bufio.NewReaderSize(cc, bufSize)}

	// Three "frames" of a 9-byte header and a 5-byte payload, written at once.
	const frames = 3
	msg := make([]byte, frames*14)
	for i := range msg {
		msg[i] = byte(i)
	}
	werr := make(chan error, 1)
	go func() { _, err := b.Write(msg); werr <- err }()

	got := make([]byte, 0, len(msg))
	for range frames {
		for _, n := range []int{9, 5} {
			buf := make([]byte, n)
			if _, err := io.ReadFull(p, buf); err != nil {
				t.Fatalf("read: %v", err)
			}
			got = append(got, buf...)
		}
	}
	if err := <-werr; err != nil {
		t.Fatalf("write: %v", err)
	}
	if string(got) != string(msg) {
		t.Fatalf("read %x, want %x", got, msg)
	}
	if n := cc.reads.Load(); n != 1 {
		t.Fatalf("%d reads of the connection for %d frames written at once, want 1", n, frames)
	}
}
