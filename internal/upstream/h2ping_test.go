package upstream

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/testutil/wait"
)

// blackholeProxy forwards the TCP connections it accepts on 127.0.0.1:0 to
// an h2c upstream. Each connection, numbered from 1, can be blackholed: from
// then on the bytes of both directions are read and dropped while both
// sockets stay open, as with a peer that stopped answering. It counts the
// PING frames the dialling side sends. It is stopped by t.Cleanup.
type blackholeProxy struct {
	addr string

	mu    sync.Mutex
	conns []*proxiedConn
}

// proxiedConn is one connection through a blackholeProxy.
type proxiedConn struct {
	hole       atomic.Bool  // drop the bytes of both directions
	pings      atomic.Int64 // PING frames (not acknowledgements) sent by the dialler
	clientGone atomic.Bool  // the dialler closed its side
}

func startBlackholeProxy(t *testing.T, upstreamAddr string) *blackholeProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	px := &blackholeProxy{addr: ln.Addr().String()}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		opened []net.Conn
	)
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range opened {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 64 { // bounded: a test makes a few connections
			c, err := ln.Accept()
			if err != nil {
				return
			}
			uc, err := net.Dial("tcp", upstreamAddr)
			if err != nil {
				_ = c.Close()
				continue
			}
			mu.Lock()
			opened = append(opened, c, uc)
			mu.Unlock()
			pc := &proxiedConn{}
			px.mu.Lock()
			px.conns = append(px.conns, pc)
			px.mu.Unlock()
			pr, pw := io.Pipe()
			wg.Add(3)
			go func() { defer wg.Done(); pc.forward(uc, c, pw); pc.clientGone.Store(true); _ = uc.Close() }()
			go func() { defer wg.Done(); pc.forward(c, uc, nil); _ = c.Close() }()
			go func() { defer wg.Done(); pc.countPings(pr) }()
		}
	}()
	return px
}

// conn returns connection n (from 1), nil before it was accepted.
func (px *blackholeProxy) conn(n int) *proxiedConn {
	px.mu.Lock()
	defer px.mu.Unlock()
	if n > len(px.conns) {
		return nil
	}
	return px.conns[n-1]
}

// accepted returns the number of connections accepted.
func (px *blackholeProxy) accepted() int {
	px.mu.Lock()
	defer px.mu.Unlock()
	return len(px.conns)
}

// forward copies src to dst until src ends, dropping the bytes while the
// connection is blackholed; a non-nil tap gets every byte read and is
// closed at the end.
func (pc *proxiedConn) forward(dst, src net.Conn, tap *io.PipeWriter) {
	if tap != nil {
		defer tap.Close()
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if tap != nil {
				_, _ = tap.Write(buf[:n])
			}
			if !pc.hole.Load() {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
		}
		if err != nil {
			return
		}
	}
}

// countPings reads the dialler's bytes as HTTP/2 (preface, then frames),
// counting its PINGs; it drains r when they stop parsing.
func (pc *proxiedConn) countPings(r *io.PipeReader) {
	defer func() { _, _ = io.Copy(io.Discard, r) }()
	if _, err := io.ReadFull(r, make([]byte, len(http2.ClientPreface))); err != nil {
		return
	}
	fr := http2.NewFramer(nil, r)
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return
		}
		if p, ok := f.(*http2.PingFrame); ok && !p.IsAck() {
			pc.pings.Add(1)
		}
	}
}

// TestH2DeadConnectionClosedByPing: an upstream connection whose peer
// stops answering (blackholed) is found by a PING and closed within the
// configured ping_interval and ping_timeout, long before the pool's
// timeout. The POST in flight on it fails once, as an upstream failure
// that is not a connect failure, and is not sent again; the next call goes
// on a new connection. Over TLS the proxy cannot read the frames, so the
// PINGs are counted for h2c only.
func TestH2DeadConnectionClosedByPing(t *testing.T) {
	for _, kind := range h2Kinds {
		t.Run(kind.name, func(t *testing.T) { testDeadConnectionClosedByPing(t, kind.tls) })
	}
}

func testDeadConnectionClosedByPing(t *testing.T, useTLS bool) {
	var posts atomic.Int64
	u := startH2Upstream(t, useTLS, 100, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			posts.Add(1)
			_, _ = io.Copy(io.Discard, r.Body)
			<-r.Context().Done() // answers never: only its connection's end ends it
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	scheme, hostport, _ := strings.Cut(u.URL, "://")
	px := startBlackholeProxy(t, hostport)
	spec := h2Spec(u)
	spec.Targets = []string{scheme + "://" + px.addr}
	spec.Timeout = config.Duration(time.Hour) // no response-header timeout ends the call
	spec.H2 = &config.UpstreamH2{PingInterval: config.Duration(50 * time.Millisecond), PingTimeout: config.Duration(200 * time.Millisecond)}
	p := mustPool(t, spec)

	mustGet(t, p, "/")
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://upstream.invalid/orders", bytes.NewReader([]byte(`{"order":1}`)))
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { _, _, err := send(p, req); errc <- err }()
	wait.For(t, 10*time.Second, "the POST at the upstream", func() bool { return posts.Load() == 1 })

	c1 := px.conn(1)
	c1.hole.Store(true)
	wait.For(t, 10*time.Second, "the pool to close the silent connection", c1.clientGone.Load)
	if !useTLS && c1.pings.Load() == 0 {
		t.Error("the pool sent no PING on the connection")
	}
	select {
	case err = <-errc:
	case <-time.After(10 * time.Second):
		t.Fatal("the POST on the closed connection did not end")
	}
	var te *targetError
	switch {
	case err == nil:
		t.Fatal("the POST on the dead connection succeeded")
	case !errors.As(err, &te) || IsConnectError(err):
		t.Errorf("the POST failed with %v (%T), want an upstream failure that is not a connect failure", err, err)
	}
	if n := posts.Load(); n != 1 {
		t.Errorf("the upstream received the POST %d times, want 1", n)
	}
	if body := mustGet(t, p, "/"); body != "ok" || px.accepted() != 2 {
		t.Errorf("after the dead connection: %q on %d connections through the proxy, want ok on a second one", body, px.accepted())
	}
}
