package upstream

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
)

func TestH2CSpeaksHTTP2WithPriorKnowledge(t *testing.T) {
	var major atomic.Int32
	s := h2cServer(t, protoHandler(&major))

	p := mustPool(t, upstreamSpec(config.ProtocolH2C, s.URL))
	if body := mustGet(t, p, "/"); body != "HTTP/2.0" || major.Load() != 2 {
		t.Errorf("h2c pool: server saw %q (ProtoMajor %d), want HTTP/2.0", body, major.Load())
	}

	p1 := mustPool(t, upstreamSpec(config.ProtocolHTTP1, s.URL))
	if body := mustGet(t, p1, "/"); body != "HTTP/1.1" {
		t.Errorf("http1 pool: server saw %q, want HTTP/1.1", body)
	}
}

func TestHTTPSTargets(t *testing.T) {
	var major atomic.Int32
	s, ca := tlsServer(t, protoHandler(&major), true)
	withTLS := func(protocol string, tlsSpec *config.UpstreamTLS) *config.Upstream {
		spec := upstreamSpec(protocol, s.URL)
		spec.TLS = tlsSpec
		return spec
	}

	tests := []struct {
		name     string
		protocol string
		tls      *config.UpstreamTLS
		want     string
	}{
		{"h2 by alpn", config.ProtocolH2, &config.UpstreamTLS{CA: ca}, "HTTP/2.0"},
		{"http1 stays on 1.1", config.ProtocolHTTP1, &config.UpstreamTLS{CA: ca}, "HTTP/1.1"},
		{"default protocol", "", &config.UpstreamTLS{CA: ca}, "HTTP/1.1"},
		{"server name", config.ProtocolH2, &config.UpstreamTLS{CA: ca, ServerName: "example.com"}, "HTTP/2.0"},
		{"insecure", config.ProtocolH2, &config.UpstreamTLS{InsecureSkipVerify: true}, "HTTP/2.0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := mustPool(t, withTLS(tc.protocol, tc.tls))
			if body := mustGet(t, p, "/"); body != tc.want {
				t.Errorf("server saw %s, want %s", body, tc.want)
			}
		})
	}

	t.Run("unknown authority is a connect error", func(t *testing.T) {
		p := mustPool(t, withTLS(config.ProtocolH2, nil))
		_, _, err := send(p, newReq(t, http.MethodGet, "/"))
		if err == nil || !IsConnectError(err) {
			t.Fatalf("err = %v, want a connect error", err)
		}
		if st := p.Status()[0]; st.ConsecutiveFailures != 1 || !strings.Contains(st.LastError, "tls") {
			t.Errorf("status %+v, want one counted TLS failure", st)
		}
	})
	t.Run("wrong server name is a connect error", func(t *testing.T) {
		p := mustPool(t, withTLS(config.ProtocolH2, &config.UpstreamTLS{CA: ca, ServerName: "other.test"}))
		if _, _, err := send(p, newReq(t, http.MethodGet, "/")); !IsConnectError(err) {
			t.Fatalf("err = %v, want a connect error", err)
		}
	})
}

// slowHandler answers after the delay in the query parameter d (default
// delay), or gives up when the request is cancelled.
func slowHandler(delay time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := delay
		if v, err := time.ParseDuration(r.URL.Query().Get("d")); err == nil {
			d = v
		}
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
		_, _ = io.WriteString(w, "late")
	})
}

func TestResponseHeaderTimeout(t *testing.T) {
	s := h2cServer(t, slowHandler(time.Minute))
	for _, protocol := range []string{config.ProtocolHTTP1, config.ProtocolH2C} {
		t.Run(protocol, func(t *testing.T) {
			spec := upstreamSpec(protocol, s.URL)
			spec.Timeout = config.Duration(100 * time.Millisecond)
			p := mustPool(t, spec)

			// The handler would answer after a minute: only the header
			// timeout can end this request with a timeout error.
			_, _, err := send(p, newReq(t, http.MethodGet, "/slow"))
			var ne net.Error
			if err == nil || !errors.As(err, &ne) || !ne.Timeout() {
				t.Fatalf("err = %v, want a net.Error timeout", err)
			}
			if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
				t.Errorf("RoundTrip error %T is not itself a net.Error timeout", err)
			}
			if IsConnectError(err) {
				t.Errorf("a response-header timeout is not a connect error: %v", err)
			}
			if st := p.Status()[0]; st.ConsecutiveFailures != 0 {
				t.Errorf("timeout counted toward ejection: %+v", st)
			}

			req := newReq(t, http.MethodPost, "/pkg.Service/Method?d=400ms")
			req.Header.Set("Content-Type", "application/grpc+proto")
			code, body, err := send(p, req)
			if err != nil || code != http.StatusOK || body != "late" {
				t.Fatalf("grpc request: %d %q %v, want it not cut by the header timeout", code, body, err)
			}
		})
	}
}

func TestUpgradeOnH2CPoolUsesHTTP1(t *testing.T) {
	var major atomic.Int32
	s := h2cServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		major.Store(int32(r.ProtoMajor))
		if r.Header.Get("Upgrade") != "echo" {
			http.Error(w, "want Upgrade: echo", http.StatusBadRequest)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		_ = brw.Flush()
		line, err := brw.ReadString('\n')
		if err != nil {
			return
		}
		_, _ = brw.WriteString("echo " + line)
		_ = brw.Flush()
	}))
	p := mustPool(t, upstreamSpec(config.ProtocolH2C, s.URL))

	req := newReq(t, http.MethodGet, "/ws")
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "echo")
	resp, err := p.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols || major.Load() != 1 {
		t.Fatalf("status %d, server ProtoMajor %d; want 101 over HTTP/1.1", resp.StatusCode, major.Load())
	}
	rwc, ok := resp.Body.(io.ReadWriteCloser)
	if !ok {
		t.Fatalf("101 body %T is not writable", resp.Body)
	}
	if _, err := io.WriteString(rwc, "ping\n"); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(rwc).ReadString('\n')
	if err != nil || line != "echo ping\n" {
		t.Fatalf("read %q %v", line, err)
	}

	// Ordinary requests on the same pool still use h2c.
	major.Store(0)
	_, _, _ = send(p, newReq(t, http.MethodGet, "/"))
	if major.Load() != 2 {
		t.Errorf("ordinary request ProtoMajor %d, want 2", major.Load())
	}
}

func TestTransportPick(t *testing.T) {
	for _, protocol := range []string{config.ProtocolHTTP1, config.ProtocolH2C} {
		p := mustPool(t, upstreamSpec(protocol, "http://127.0.0.1:1"))
		req := newReq(t, http.MethodGet, "/")
		p.targets[0].apply(req.URL)
		want := http.RoundTripper(p.tr.std)
		if protocol == config.ProtocolHTTP1 {
			want = p.tr.fast
		}
		if p.tr.pick(req) != want {
			t.Errorf("%s: plain request on %T, want %T", protocol, p.tr.pick(req), want)
		}
		for name, mod := range map[string]func(r *http.Request){
			"expect":         func(r *http.Request) { r.Header.Set("Expect", "100-continue") },
			"unknown length": func(r *http.Request) { r.Body, r.ContentLength = io.NopCloser(strings.NewReader("x")), -1 },
			"large body": func(r *http.Request) {
				r.Body, r.ContentLength = io.NopCloser(strings.NewReader("x")), maxFastBody+1
				r.GetBody = func() (io.ReadCloser, error) { return http.NoBody, nil }
			},
			"other host": func(r *http.Request) { r.URL.Host = "127.0.0.1:2" },
		} {
			r := newReq(t, http.MethodPost, "/")
			p.targets[0].apply(r.URL)
			mod(r)
			if p.tr.pick(r) != p.tr.std {
				t.Errorf("%s: %s request not on std", protocol, name)
			}
		}
		req.Header.Set("Content-Type", "Application/GRPC")
		if p.tr.pick(req) != p.tr.grpc || p.tr.grpc.ResponseHeaderTimeout != 0 {
			t.Errorf("%s: grpc request not on the transport without header timeout", protocol)
		}
		req.Header.Set("Upgrade", "websocket")
		tr, _ := p.tr.pick(req).(*http.Transport)
		if tr != p.tr.upgrade || tr.Protocols.HTTP2() || tr.Protocols.UnencryptedHTTP2() || !tr.Protocols.HTTP1() {
			t.Errorf("%s: upgrade request not on an HTTP/1.1-only transport", protocol)
		}
		if tr := p.tr.std; !tr.DisableCompression || tr.MaxIdleConnsPerHost != 512 || tr.ResponseHeaderTimeout != config.DefaultUpstreamTO {
			t.Errorf("%s: std transport not tuned: %+v", protocol, tr)
		}
	}
}

func TestIsConnectError(t *testing.T) {
	plain := h2cServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	slow := h2cServer(t, slowHandler(time.Second))
	tlsSrv, _ := tlsServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), false)

	poolErr := func(spec *config.Upstream) error {
		p := mustPool(t, spec)
		_, _, err := send(p, newReq(t, http.MethodGet, "/"))
		if err == nil {
			t.Fatalf("%v: request succeeded", spec.Targets)
		}
		return err
	}
	foreignErr := func(tr *http.Transport, u string) error {
		defer tr.CloseIdleConnections()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := tr.RoundTrip(req)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("%s: request succeeded", u)
		}
		return err
	}
	timeoutSpec := upstreamSpec("", slow.URL)
	timeoutSpec.Timeout = config.Duration(50 * time.Millisecond)

	// A listener that accepts and never answers: the TLS handshake stalls.
	stall, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stall.Close() })
	go func() {
		for {
			c, err := stall.Accept()
			if err != nil {
				return
			}
			go func() { // hold the connection until the client gives up
				_, _ = io.Copy(io.Discard, c)
				_ = c.Close()
			}()
		}
	}()

	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain", errors.New("boom"), false},
		{"canceled", context.Canceled, false},
		{"refused", poolErr(upstreamSpec("", "http://"+deadAddr(t))), true},
		{"tls to plain server", poolErr(upstreamSpec("", strings.Replace(plain.URL, "http:", "https:", 1))), true},
		{"tls unknown authority", poolErr(upstreamSpec("", tlsSrv.URL)), true},
		{"response header timeout", poolErr(timeoutSpec), false},
		{"foreign tls to plain server", foreignErr(&http.Transport{},
			strings.Replace(plain.URL, "http:", "https:", 1)), true},
		{"foreign unknown authority", foreignErr(&http.Transport{}, tlsSrv.URL), true},
		{"foreign tls handshake timeout", foreignErr(&http.Transport{TLSHandshakeTimeout: 50 * time.Millisecond,
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, "https://"+stall.Addr().String()), true},
	}
	for _, tc := range tests {
		if got := IsConnectError(tc.err); got != tc.want {
			t.Errorf("%s: IsConnectError(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}
