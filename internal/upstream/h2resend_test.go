package upstream

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"

	"golang.org/x/net/http2"
)

// protocolErrorServer is an h2c upstream speaking raw frames: it reads each
// request's HEADERS, counts it, and resets the stream with PROTOCOL_ERROR
// once its body is in. A reset that the peer sends with PROTOCOL_ERROR does
// not prove the request unprocessed, yet net/http's HTTP/2 client resends a
// request it can rewind (GetBody) after one. It returns the URL and the
// count of requests received.
func protocolErrorServer(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	var got atomic.Int64
	go func() {
		for range 64 { // bounded: the client dials a few connections at most
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = c.Close() })
			go serveProtocolErrors(c, &got)
		}
	}()
	return "http://" + ln.Addr().String(), &got
}

func serveProtocolErrors(c net.Conn, got *atomic.Int64) {
	defer c.Close()
	preface := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(c, preface); err != nil || string(preface) != http2.ClientPreface {
		return
	}
	fr := http2.NewFramer(c, c)
	if fr.WriteSettings() != nil {
		return
	}
	for range 1024 { // bounded per connection
		f, err := fr.ReadFrame()
		if err != nil {
			return
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() && fr.WriteSettingsAck() != nil {
				return
			}
		case *http2.HeadersFrame:
			got.Add(1)
			if f.StreamEnded() && fr.WriteRSTStream(f.StreamID, http2.ErrCodeProtocol) != nil {
				return
			}
		case *http2.DataFrame:
			if f.StreamEnded() && fr.WriteRSTStream(f.StreamID, http2.ErrCodeProtocol) != nil {
				return
			}
		}
	}
}

// TestH2ProtocolErrorNotResent: a POST whose stream an HTTP/2 upstream
// resets with PROTOCOL_ERROR after reading it reaches the upstream once,
// even with a rewindable body (a pre-read one).
func TestH2ProtocolErrorNotResent(t *testing.T) {
	url, got := protocolErrorServer(t)
	p := mustPool(t, upstreamSpec("h2c", url))

	body := []byte(`{"order":1}`)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://upstream.invalid/orders", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if req.GetBody == nil {
		t.Fatal("the test needs a rewindable body")
	}
	if _, _, err := send(p, req); err == nil {
		t.Fatal("POST reset by the upstream succeeded")
	}
	if n := got.Load(); n != 1 {
		t.Fatalf("the upstream received the POST %d times, want 1", n)
	}

}
