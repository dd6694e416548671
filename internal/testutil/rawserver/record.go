package rawserver

import (
	"io"
	"net"
	"net/http"
	"sync"
)

// Recorder counts the requests an upstream received by their X-Id
// header. It is safe for concurrent use; the zero value is ready.
type Recorder struct {
	mu    sync.Mutex
	count map[string]int
}

// Seen counts req and returns how many times its X-Id has been received.
func (r *Recorder) Seen(req *http.Request) int {
	id := req.Header.Get("X-Id")
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.count == nil {
		r.count = map[string]int{}
	}
	r.count[id]++
	return r.count[id]
}

// Count returns how many times X-Id id was received.
func (r *Recorder) Count(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.count[id]
}

// ResetMidBody reads n bytes of req's body and resets c (SO_LINGER 0,
// then close): the client's writes and reads fail with a reset.
func ResetMidBody(c net.Conn, req *http.Request, n int64) {
	_, _ = io.CopyN(io.Discard, req.Body, n)
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

// AnswerOK reads the rest of req's body and answers 200 "ok", keeping
// the connection; it reports false when c failed.
func AnswerOK(c net.Conn, req *http.Request) bool {
	if _, err := io.Copy(io.Discard, req.Body); err != nil {
		return false
	}
	_, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	return err == nil
}
