package upstream

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/net/http2"

	"github.com/turnout-gw/turnout/internal/testutil/testpki"
)

// connIDKey is the context key under which h2Upstream stores the number of
// the connection a request came on.
type connIDKey struct{}

// h2Upstream is an HTTP/2 upstream on 127.0.0.1:0 built on
// golang.org/x/net/http2's server, cleartext (h2c with prior knowledge) or
// TLS (ALPN h2), advertising MAX_CONCURRENT_STREAMS of maxStreams. It
// numbers the connections it accepts from 1 and records which connection
// each request came on. It is safe for concurrent use and stopped by
// t.Cleanup.
type h2Upstream struct {
	URL string // http:// or https://127.0.0.1:PORT
	CA  string // the PEM file of its certificate (TLS only)

	accepted atomic.Int64 // connections accepted

	mu     sync.Mutex
	byConn map[int64]int // connection number -> requests received
}

// startH2Upstream starts an h2Upstream serving h (nil: 200 "ok").
func startH2Upstream(t *testing.T, useTLS bool, maxStreams uint32, h http.Handler) *h2Upstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &h2Upstream{URL: "http://" + ln.Addr().String(), byConn: map[int64]int{}}
	var tlsConf *tls.Config
	if useTLS {
		tlsConf, u.CA = h2UpstreamTLS(t)
		u.URL = "https://" + ln.Addr().String()
	}
	if h == nil {
		h = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	}
	counted := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := r.Context().Value(connIDKey{}).(int64)
		u.mu.Lock()
		u.byConn[id]++
		u.mu.Unlock()
		h.ServeHTTP(w, r)
	})
	srv := &http2.Server{MaxConcurrentStreams: maxStreams}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() {
		_ = ln.Close()
		cancel() // ServeConn closes its connection when its context ends
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 256 { // bounded: a test opens a handful of connections
			c, err := ln.Accept()
			if err != nil {
				return
			}
			id := u.accepted.Add(1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				if tlsConf != nil {
					tc := tls.Server(c, tlsConf)
					if tc.HandshakeContext(ctx) != nil {
						return
					}
					c = tc
				}
				srv.ServeConn(c, &http2.ServeConnOpts{
					Context: context.WithValue(ctx, connIDKey{}, id),
					Handler: counted,
				})
			}()
		}
	}()
	return u
}

// conns returns how many connections carried at least one request, and the
// most requests any one of them carried.
func (u *h2Upstream) conns() (used, most int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, n := range u.byConn {
		used++
		most = max(most, n)
	}
	return used, most
}

// requestsOn returns the requests received on connection id.
func (u *h2Upstream) requestsOn(id int64) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.byConn[id]
}

// h2UpstreamTLS returns a server TLS configuration offering h2, with a
// certificate for 127.0.0.1, and the PEM file of the CA that issued it.
func h2UpstreamTLS(t *testing.T) (*tls.Config, string) {
	t.Helper()
	dir := t.TempDir()
	ca := testpki.NewCA(t, dir, "h2-upstream-ca")
	leaf := ca.Server(t, dir, "h2-upstream")
	return &tls.Config{Certificates: []tls.Certificate{leaf.TLS}, NextProtos: []string{http2.NextProtoTLS}, MinVersion: tls.VersionTLS12}, ca.File
}
