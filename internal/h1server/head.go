package h1server

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"
)

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
