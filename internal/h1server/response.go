package h1server

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// maxPending is how much body a handler may write, before it returns or
// flushes, without a Content-Length of its own: if it all fits, the answer
// gets a Content-Length instead of chunked encoding (as with net/http).
const maxPending = 2048

// response is the http.ResponseWriter of one request. Like net/http's, it
// is for the handler's goroutine only (Read of the request body may send
// 100 Continue from another goroutine; contMu orders that with the head).
type response struct {
	c       *conn
	req     *http.Request
	hdr     http.Header // the handler's map
	snap    http.Header // the head as of WriteHeader, when changed after it
	status  int
	cl      int64 // declared Content-Length, -1 unknown
	written int64
	pending []byte // body held back before the head is written

	wroteHeader bool // WriteHeader(final) called
	committed   bool // head written to the connection buffer
	chunked     bool
	noBody      bool // HEAD or a status without body
	closeAfter  bool
	hijacked    bool
	minor       int  // request's HTTP/1.minor
	keepAlive10 bool // HTTP/1.0 request asking for keep-alive

	expectCont bool // request expects 100 Continue
	contMu     sync.Mutex
}

// Header returns the header map the answer is written from.
func (w *response) Header() http.Header {
	if w.wroteHeader && !w.committed && w.snap == nil {
		w.snap = w.hdr.Clone()
	}
	return w.hdr
}

// WriteHeader sends an informational (1xx) head at once, or records the
// final status; the head goes out with the first body byte, a Flush or the
// handler's return.
func (w *response) WriteHeader(code int) {
	if w.hijacked || w.wroteHeader {
		return
	}
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		w.informational(code)
		return
	}
	w.wroteHeader = true
	w.status = code
	w.cl = -1
	if v := w.hdr["Content-Length"]; len(v) > 0 {
		if n, err := strconv.ParseInt(v[0], 10, 64); err == nil && n >= 0 {
			w.cl = n
		} else {
			delete(w.hdr, "Content-Length")
		}
	}
	w.noBody = w.req.Method == http.MethodHead || !bodyAllowed(code)
}

func (w *response) informational(code int) {
	if w.minor == 0 {
		return
	}
	if w.expectCont {
		w.contMu.Lock()
		defer w.contMu.Unlock()
	}
	bw := w.c.bw
	writeStatus(bw, 1, code)
	for k, vv := range w.hdr {
		writeField(bw, k, vv)
	}
	_, _ = bw.WriteString("\r\n")
	if err := bw.Flush(); err != nil {
		w.closeAfter = true
	}
}

// sendContinue writes "100 Continue" straight to the connection unless
// the head has gone out already. It runs on the goroutine reading the
// body.
func (w *response) sendContinue() {
	w.contMu.Lock()
	defer w.contMu.Unlock()
	if w.committed || w.c.bw.Buffered() > 0 {
		return
	}
	_, _ = w.c.rwc.Write([]byte("HTTP/1.1 100 Continue\r\n\r\n")) // a failure shows in the next read or write
}

// Write writes body bytes, committing the head first when needed.
func (w *response) Write(p []byte) (int, error) {
	if w.hijacked {
		return 0, http.ErrHijacked
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !bodyAllowed(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	if w.cl >= 0 && w.written+int64(len(p)) > w.cl {
		return 0, http.ErrContentLength
	}
	if !w.committed {
		if w.cl < 0 && len(w.pending)+len(p) <= maxPending {
			if w.pending == nil {
				w.pending = w.c.pending[:0]
			}
			w.pending = append(w.pending, p...)
			w.written += int64(len(p))
			return len(p), nil
		}
		w.commit(false, p)
		if err := w.writePending(); err != nil {
			return 0, err
		}
	}
	w.written += int64(len(p))
	if w.noBody {
		return len(p), nil
	}
	return w.writeBody(p)
}

func (w *response) writeBody(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	bw := w.c.bw
	if w.chunked {
		_, _ = bw.Write(strconv.AppendInt(bw.AvailableBuffer(), int64(len(p)), 16))
		_, _ = bw.WriteString("\r\n")
		_, _ = bw.Write(p)
		_, err := bw.WriteString("\r\n")
		if err != nil {
			w.closeAfter = true
			return 0, err
		}
		return len(p), nil
	}
	n, err := bw.Write(p)
	if err != nil {
		w.closeAfter = true
	}
	return n, err
}

func (w *response) writePending() error {
	p := w.pending
	w.pending = nil
	if cap(p) <= 2*maxPending {
		w.c.pending = p[:0] // reused by the next answer: p is in bw once written
	}
	if len(p) == 0 || w.noBody {
		return nil
	}
	_, err := w.writeBody(p)
	return err
}

// Flush writes the head and everything buffered to the client.
func (w *response) Flush() { _ = w.FlushError() }

// FlushError is Flush reporting the write error (http.ResponseController).
func (w *response) FlushError() error {
	if w.hijacked {
		return http.ErrHijacked
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.committed {
		w.commit(false, w.pending)
		if err := w.writePending(); err != nil {
			return err
		}
	}
	if err := w.c.bw.Flush(); err != nil {
		w.closeAfter = true
		return err
	}
	return nil
}

// Hijack hands the connection to the handler (WebSocket and other
// upgrades); the server forgets it.
func (w *response) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.hijacked {
		return nil, nil, http.ErrHijacked
	}
	if w.wroteHeader {
		if err := w.FlushError(); err != nil {
			return nil, nil, err
		}
	}
	w.hijacked = true
	c := w.c
	c.disarm()
	if c.watch.hasByte { // the watcher's byte goes to the hijacker with the rest
		_, _ = c.br.Peek(c.br.Buffered() + 1)
	}
	c.hijack()
	_ = c.rwc.SetReadDeadline(time.Time{}) // the head's deadline is not the new protocol's
	return c.rwc, bufio.NewReadWriter(c.br, c.bw), nil
}

// SetReadDeadline sets the connection's read deadline
// (http.ResponseController).
func (w *response) SetReadDeadline(t time.Time) error { return w.c.rwc.SetReadDeadline(t) }

// SetWriteDeadline sets the connection's write deadline
// (http.ResponseController).
func (w *response) SetWriteDeadline(t time.Time) error { return w.c.rwc.SetWriteDeadline(t) }

// EnableFullDuplex is a no-op: the body can always be read while the
// answer is written (http.ResponseController).
func (w *response) EnableFullDuplex() error { return nil }

// finish completes the answer after the handler returned: the head if not
// written, the pending body, the last chunk and trailers.
func (w *response) finish() {
	if w.hijacked {
		return
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.committed {
		w.commit(true, w.pending)
		_ = w.writePending()
	}
	if w.chunked {
		bw := w.c.bw
		_, _ = bw.WriteString("0\r\n")
		w.writeTrailers()
		_, _ = bw.WriteString("\r\n")
	}
	if w.cl >= 0 && w.written != w.cl && !w.noBody {
		w.closeAfter = true
	}
}
