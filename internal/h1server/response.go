package h1server

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"
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

// commit writes the status line and head into the connection's buffer,
// choosing the framing: the handler's Content-Length, a Content-Length
// for a body that is complete (final), chunked for HTTP/1.1, else close.
// first is the body's first bytes, for a Content-Type when none was set.
func (w *response) commit(final bool, first []byte) {
	if w.expectCont {
		w.contMu.Lock()
		defer w.contMu.Unlock()
	}
	w.committed = true
	h := w.hdr
	if w.snap != nil {
		h = w.snap
	}
	if connectionClose(h) || w.c.srv.shuttingDown() {
		w.closeAfter = true
	}
	trailers := len(h["Trailer"]) > 0
	cl := w.cl
	bodyOK := bodyAllowed(w.status)
	isHEAD := w.req.Method == http.MethodHead
	switch {
	case !bodyOK, isHEAD && cl < 0 && !(final && w.written > 0):
		cl = -2 // no framing headers at all
	case trailers && w.minor == 1:
		cl = -1
	case cl < 0 && final:
		cl = w.written
	}
	if cl == -1 {
		if w.minor == 1 {
			w.chunked = true
		} else {
			w.closeAfter = true
		}
	}
	if w.minor == 0 && !w.keepAlive10 {
		w.closeAfter = true
	}
	bw := w.c.bw
	writeStatus(bw, w.minor, w.status)
	for k, vv := range h {
		switch k {
		case "Content-Length": // the handler's, unless the framing differs (a 304 keeps it)
			if (cl != w.cl || cl < 0) && !(w.status == http.StatusNotModified && w.cl >= 0) {
				continue
			}
		case "Transfer-Encoding", "Connection":
			continue
		default:
			if strings.HasPrefix(k, http.TrailerPrefix) {
				continue
			}
		}
		writeField(bw, k, vv)
	}
	if cl >= 0 && cl != w.cl {
		_, _ = bw.WriteString("Content-Length: ")
		_, _ = bw.Write(strconv.AppendInt(bw.AvailableBuffer(), cl, 10))
		_, _ = bw.WriteString("\r\n")
	}
	if w.chunked {
		_, _ = bw.WriteString("Transfer-Encoding: chunked\r\n")
	}
	if _, ok := h["Date"]; !ok {
		_, _ = bw.WriteString("Date: ")
		_, _ = bw.Write(w.c.srv.date.get(w.c.srv.now()))
		_, _ = bw.WriteString("\r\n")
	}
	if _, ok := h["Content-Type"]; !ok && bodyOK && len(first) > 0 && !hasContentEncoding(h) {
		_, _ = bw.WriteString("Content-Type: ")
		_, _ = bw.WriteString(http.DetectContentType(first))
		_, _ = bw.WriteString("\r\n")
	}
	switch {
	case w.closeAfter:
		_, _ = bw.WriteString("Connection: close\r\n")
	case w.minor == 0:
		_, _ = bw.WriteString("Connection: keep-alive\r\n")
	default:
		if vv := h["Connection"]; len(vv) > 0 {
			writeField(bw, "Connection", vv)
		}
	}
	_, _ = bw.WriteString("\r\n")
}

// writeTrailers writes the declared trailers (named by the Trailer
// header) and those set with http.TrailerPrefix.
func (w *response) writeTrailers() {
	bw := w.c.bw
	for _, decl := range w.hdr["Trailer"] {
		for k := range strings.SplitSeq(decl, ",") {
			k = http.CanonicalHeaderKey(strings.TrimSpace(k))
			if vv := w.hdr[k]; len(vv) > 0 && k != "" && allowedTrailer(k) {
				writeField(bw, k, vv)
			}
		}
	}
	for k, vv := range w.hdr {
		if name, ok := strings.CutPrefix(k, http.TrailerPrefix); ok && allowedTrailer(name) {
			writeField(bw, name, vv)
		}
	}
}

func allowedTrailer(k string) bool {
	switch k {
	case "Content-Length", "Transfer-Encoding", "Trailer", "Connection", "Host":
		return false
	}
	return true
}

func connectionClose(h http.Header) bool {
	vv := h["Connection"]
	return len(vv) > 0 && httpguts.HeaderValuesContainsToken(vv, "close")
}

func hasContentEncoding(h http.Header) bool {
	vv := h["Content-Encoding"]
	return len(vv) > 0 && vv[0] != ""
}

func bodyAllowed(code int) bool {
	return code >= 200 && code != http.StatusNoContent && code != http.StatusNotModified
}

// writeStatus writes "HTTP/1.x code text\r\n".
func writeStatus(bw *bufio.Writer, minor, code int) {
	if minor == 1 && code == http.StatusOK {
		_, _ = bw.WriteString("HTTP/1.1 200 OK\r\n")
		return
	}
	if minor == 0 {
		_, _ = bw.WriteString("HTTP/1.0 ")
	} else {
		_, _ = bw.WriteString("HTTP/1.1 ")
	}
	_, _ = bw.Write(strconv.AppendInt(bw.AvailableBuffer(), int64(code), 10))
	_ = bw.WriteByte(' ')
	_, _ = bw.WriteString(http.StatusText(code))
	_, _ = bw.WriteString("\r\n")
}

// writeField writes one header field per value, skipping invalid names
// and replacing CR and LF in values with spaces (as net/http does).
func writeField(bw *bufio.Writer, k string, vv []string) {
	if !validName(k) {
		return
	}
	for _, v := range vv {
		_, _ = bw.WriteString(k)
		_, _ = bw.WriteString(": ")
		if strings.ContainsAny(v, "\r\n") {
			v = strings.NewReplacer("\r", " ", "\n", " ").Replace(v)
		}
		_, _ = bw.WriteString(strings.TrimSpace(v))
		_, _ = bw.WriteString("\r\n")
	}
}

func validName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if !isToken[k[i]] {
			return false
		}
	}
	return true
}

// dateCache formats the Date header once per second; readers share the
// current value without a lock.
type dateCache struct{ p atomic.Pointer[dateVal] }

type dateVal struct {
	sec int64
	b   []byte // never changed once published
}

func (d *dateCache) get(now time.Time) []byte {
	sec := now.Unix()
	if v := d.p.Load(); v != nil && v.sec == sec {
		return v.b
	}
	v := &dateVal{sec: sec, b: now.UTC().AppendFormat(make([]byte, 0, 29), http.TimeFormat)}
	d.p.Store(v)
	return v.b
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}
