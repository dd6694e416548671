package h1server

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"
)

// memConn is a net.Conn reading a fixed input and collecting the output.
type memConn struct {
	r   *bytes.Reader
	out bytes.Buffer
}

func (m *memConn) Read(p []byte) (int, error)         { return m.r.Read(p) }
func (m *memConn) Write(p []byte) (int, error)        { return m.out.Write(p) }
func (m *memConn) Close() error                       { return nil }
func (m *memConn) LocalAddr() net.Addr                { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 80} }
func (m *memConn) RemoteAddr() net.Addr               { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1234} }
func (m *memConn) SetDeadline(t time.Time) error      { return nil }
func (m *memConn) SetReadDeadline(t time.Time) error  { return nil }
func (m *memConn) SetWriteDeadline(t time.Time) error { return nil }

// FuzzServe feeds raw bytes to a connection: whatever they are, the server
// must not panic, and every request the handler sees must have a framing
// it could tell apart (no Content-Length with chunked encoding).
func FuzzServe(f *testing.F) {
	for _, seed := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /a?b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.0\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTrailer: X\r\n\r\n3;e=1\r\nabc\r\n0\r\nX: 1\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\nabc",
		"GET http://a/b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n0\r\n\r\n",
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n",
	} {
		f.Add([]byte(seed))
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength >= 0 && len(r.TransferEncoding) > 0 {
			panic("ambiguous framing reached the handler")
		}
		b, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/t":
			w.Header().Set("Trailer", "X-T")
			w.Write(b)
			w.Header().Set("X-T", "1")
		case "/f":
			w.WriteHeader(103)
			w.(http.Flusher).Flush()
		default:
			w.Write(b)
		}
	})
	f.Fuzz(func(t *testing.T, in []byte) {
		var logs bytes.Buffer
		s := &Server{Handler: h, MaxHeaderBytes: 4096, Log: slog.New(slog.NewTextHandler(&logs, nil))}
		m := &memConn{r: bytes.NewReader(in)}
		c := s.newConn(m)
		s.add(c)
		c.serve()
		if logs.Len() > 0 {
			t.Fatalf("handler panicked: %s", logs.String())
		}
	})
}
