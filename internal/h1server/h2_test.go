package h1server

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/turnout-gw/turnout/internal/testutil/wait"
)

// TestH2Direct: once the H2 server is set up, an HTTP/2 connection (h2c or
// TLS with ALPN h2) is served on the connection's goroutine with what
// net/http's Serve would give it (server and local address in the context,
// the remote address, TLS state, OPTIONS *), stays tracked while open, and
// Shutdown sees it end. With a ConnState hook, which only H2's own Serve
// calls, it goes through the queue instead.
func TestH2Direct(t *testing.T) {
	ts := httptest.NewUnstartedServer(nil)
	ts.StartTLS()
	cert := ts.TLS.Certificates
	ts.Close()
	for _, tc := range []struct {
		name            string
		tls, queue      bool
		wantTLS, direct bool
	}{
		{name: "h2c", direct: true},
		{name: "tls", tls: true, wantTLS: true, direct: true},
		{name: "h2c with ConnState", queue: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h2 *http.Server
			calls := make(chan string, 4)
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, local := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
				srv, _ := r.Context().Value(http.ServerContextKey).(*http.Server)
				calls <- r.Method + " " + r.RequestURI
				fmt.Fprint(w, r.Proto, " tls=", r.TLS != nil, " remote=", r.RemoteAddr != "", " local=", local, " server=", srv == h2)
			})
			h2 = &http.Server{Handler: h, Protocols: new(http.Protocols)}
			if tc.tls {
				h2.Protocols.SetHTTP2(true)
			} else {
				h2.Protocols.SetUnencryptedHTTP2(true)
			}
			if tc.queue {
				h2.ConnState = func(net.Conn, http.ConnState) {}
			}
			s, addr := start(t, h, func(s *Server) {
				s.H2 = h2
				if tc.tls {
					s.TLSConfig = &tls.Config{Certificates: cert, NextProtos: []string{"h2", "http/1.1"}}
				}
			})
			wait.For(t, 5*time.Second, "the HTTP/2 server set up", s.h2Ready)
			tr := &http2.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
			scheme := "https"
			if !tc.tls {
				scheme = "http"
				tr.AllowHTTP = true
				tr.DialTLSContext = func(ctx context.Context, network, a string, _ *tls.Config) (net.Conn, error) {
					return (&net.Dialer{}).DialContext(ctx, network, a)
				}
			}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
			resp, err := client.Get(scheme + "://" + addr + "/x")
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			want := fmt.Sprintf("HTTP/2.0 tls=%v remote=true local=true server=true", tc.wantTLS)
			if string(b) != want {
				t.Errorf("got %q, want %q", b, want)
			}
			req, _ := http.NewRequest(http.MethodOptions, scheme+"://"+addr, nil)
			req.URL.Opaque = "*"
			if resp, err := client.Do(req); err != nil || resp.StatusCode != 200 {
				t.Errorf("OPTIONS *: %v %v", resp, err)
			} else {
				resp.Body.Close()
			}
			if got := <-calls; got != "GET /x" {
				t.Errorf("handler saw %q", got)
			}
			select {
			case got := <-calls:
				t.Errorf("OPTIONS * reached the handler: %q", got)
			default:
			}
			if n := s.numConns(); n != map[bool]int{true: 1, false: 0}[tc.direct] {
				t.Errorf("%d tracked connections with one HTTP/2 connection open (served directly: %v)", n, tc.direct)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := s.Shutdown(ctx); err != nil {
				t.Errorf("shutdown: %v", err)
			}
			if n := s.numConns(); n != 0 {
				t.Errorf("%d connections left after Shutdown", n)
			}
		})
	}
}
