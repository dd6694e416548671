package proxy_test

// HTTP through the proxy beyond routing: TLS on the data plane, h2 to
// upstreams over TLS, header propagation, error mapping and fallback paths,
// against real servers on 127.0.0.1:0. Every wait is bounded.

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/testutil"
	"github.com/turnout-gw/turnout/internal/testutil/testpki"
)

func protoCert(t *testing.T, dir string) (certPath, keyPath string, roots *x509.CertPool) {
	t.Helper()
	ca := testpki.NewCA(t, dir, "proto")
	leaf := ca.Server(t, dir, "proto-server")
	return leaf.CertFile, leaf.KeyFile, ca.Pool()
}

const protoHTTPYAML = `
upstreams:
  h-v1: { targets: [{{V1}}] }
  h-v2: { targets: [{{V2}}] }
services:
  api:
    match: { path_prefix: / }
    default: v1
    versions:
      v1: { upstream: h-v1 }
      v2: { upstream: h-v2 }
`

// protoForwarded is an upstream that answers with the request's protocol and
// forwarding headers as JSON.
func protoForwarded(t *testing.T, version string) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{
			"version":           version,
			"turnout_version":   r.Header.Get("X-Turnout-Version"),
			"x_forwarded_proto": r.Header.Get("X-Forwarded-Proto"),
			"x_forwarded_host":  r.Header.Get("X-Forwarded-Host"),
		})
	}))
	t.Cleanup(s.Close)
	return s
}

func protoGetJSON(t *testing.T, c *http.Client, url string, headers ...string) (*http.Response, map[string]string) {
	t.Helper()
	resp, err := c.Do(testutil.NewRequest(t, http.MethodGet, url, headers...))
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	var m map[string]string
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("GET %s: status %d, body %q: %v", url, resp.StatusCode, b, err)
	}
	return resp, m
}

func TestE2ETLSDataPlane(t *testing.T) {
	v1, v2 := protoForwarded(t, "v1"), protoForwarded(t, "v2")
	vars := map[string]string{"V1": v1.URL, "V2": v2.URL}

	tlsClient := func(t *testing.T, roots *x509.CertPool) *http.Client {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true}
		t.Cleanup(tr.CloseIdleConnections)
		return &http.Client{Transport: tr, Timeout: 5 * time.Second}
	}

	t.Run("h2 over TLS on the main port", func(t *testing.T) {
		cert, key, roots := protoCert(t, t.TempDir())
		tt := testutil.Start(t, fmt.Sprintf("tls: { cert: %s, key: %s }\n", cert, key)+protoHTTPYAML, vars)
		c := tlsClient(t, roots)
		for _, tc := range []struct{ pin, want string }{{"", "v1"}, {"2", "v2"}} {
			var hs []string
			if tc.pin != "" {
				hs = append(hs, "X-API-Version: "+tc.pin)
			}
			resp, m := protoGetJSON(t, c, "https://"+tt.App.Server.Addr()+"/x", hs...)
			if resp.ProtoMajor != 2 || resp.TLS == nil {
				t.Errorf("proto %s (TLS %v), want HTTP/2 over TLS", resp.Proto, resp.TLS != nil)
			}
			if got := resp.Header.Get("X-Served-Version"); got != tc.want || m["version"] != tc.want || m["turnout_version"] != tc.want {
				t.Errorf("X-Served-Version %q, upstream %v; want %s", got, m, tc.want)
			}
			if m["x_forwarded_proto"] != "https" {
				t.Errorf("X-Forwarded-Proto = %q, want https", m["x_forwarded_proto"])
			}
		}
	})

	t.Run("separate TLS listener", func(t *testing.T) {
		cert, key, roots := protoCert(t, t.TempDir())
		tt := testutil.Start(t, fmt.Sprintf("tls: { listen: 127.0.0.1:0, cert: %s, key: %s }\n", cert, key)+protoHTTPYAML, vars)
		if tt.App.Server.TLSAddr() == "" {
			t.Fatal("no TLS address")
		}
		resp, m := protoGetJSON(t, tlsClient(t, roots), "https://"+tt.App.Server.TLSAddr()+"/x", "X-API-Version: 2")
		if resp.ProtoMajor != 2 || m["version"] != "v2" || resp.Header.Get("X-Served-Version") != "v2" {
			t.Errorf("TLS port: %s %v %q", resp.Proto, m, resp.Header.Get("X-Served-Version"))
		}
		resp, m = protoGetJSON(t, &http.Client{Timeout: 5 * time.Second}, tt.URL+"/x")
		if resp.ProtoMajor != 1 || m["version"] != "v1" || m["x_forwarded_proto"] != "http" {
			t.Errorf("plain port: %s %v", resp.Proto, m)
		}
	})

	t.Run("h2c from the client on the plain port", func(t *testing.T) {
		tt := testutil.Start(t, protoHTTPYAML, vars)
		p := new(http.Protocols)
		p.SetUnencryptedHTTP2(true)
		tr := &http.Transport{Protocols: p}
		t.Cleanup(tr.CloseIdleConnections)
		c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
		resp, m := protoGetJSON(t, c, tt.URL+"/x", "X-API-Version: 2")
		if resp.ProtoMajor != 2 {
			t.Errorf("proto %s, want HTTP/2 (h2c)", resp.Proto)
		}
		if resp.Header.Get("X-Served-Version") != "v2" || m["version"] != "v2" {
			t.Errorf("X-Served-Version %q, upstream %v; want v2", resp.Header.Get("X-Served-Version"), m)
		}
		// HTTP/1.1 still works on the same port.
		resp, m = protoGetJSON(t, &http.Client{Timeout: 5 * time.Second}, tt.URL+"/x")
		if resp.ProtoMajor != 1 || m["version"] != "v1" {
			t.Errorf("HTTP/1.1 on the same port: %s %v", resp.Proto, m)
		}
	})
}

func TestE2EUpstreamH2OverTLS(t *testing.T) {
	var notH2 atomic.Int32
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 2 || r.TLS == nil {
			notH2.Add(1)
			http.Error(w, "want HTTP/2 over TLS, got "+r.Proto, http.StatusHTTPVersionNotSupported)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{
			"version": "v2", "proto": r.Proto, "turnout_version": r.Header.Get("X-Turnout-Version"),
		})
	}))
	up.EnableHTTP2 = true
	up.StartTLS()
	t.Cleanup(up.Close)
	caPath := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: up.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	v1 := testutil.VersionServer(t, "v1")
	tt := testutil.Start(t, `
upstreams:
  t-v1: { targets: [{{V1}}] }
  t-v2: { targets: [{{V2}}], protocol: h2, tls: { ca: {{CA}} } }
services:
  api:
    match: { path_prefix: / }
    default: v1
    versions:
      v1: { upstream: t-v1 }
      v2: { upstream: t-v2 }
`, map[string]string{"V1": v1.URL, "V2": up.URL, "CA": caPath})

	c := &http.Client{Timeout: 5 * time.Second}
	for i := range 3 {
		resp, m := protoGetJSON(t, c, tt.URL+"/h2", "X-API-Version: 2")
		if resp.StatusCode != http.StatusOK || m["proto"] != "HTTP/2.0" || m["turnout_version"] != "v2" {
			t.Fatalf("request %d: %d %v", i, resp.StatusCode, m)
		}
		if got := resp.Header.Get("X-Served-Version"); got != "v2" {
			t.Fatalf("X-Served-Version = %q", got)
		}
	}
	if n := notH2.Load(); n != 0 {
		t.Errorf("%d requests reached the upstream without HTTP/2 over TLS", n)
	}
}

func TestE2EHeaderPropagation(t *testing.T) {
	got := make(chan http.Header, 1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case got <- r.Header.Clone():
		default:
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(up.Close)
	v2 := testutil.VersionServer(t, "v2")
	tt := testutil.Start(t, protoHTTPYAML, map[string]string{"V1": up.URL, "V2": v2.URL})

	const (
		traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
		baggage     = "userId=alice,serverNode=DF%2028,isProduction=false"
	)
	req, err := http.NewRequest(http.MethodGet, tt.URL+"/things/1?q=a", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("traceparent", traceparent)
	req.Header.Set("baggage", baggage)
	req.Header.Set("X-Env", "canary")
	req.Header.Set("X-Custom", "a")
	req.Header.Set("Connection", "X-Hop")
	req.Header.Set("X-Hop", "secret")
	req.Header.Set("X-Forwarded-For", "10.0.0.1")
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Served-Version") != "v1" {
		t.Fatalf("status %d, X-Served-Version %q", resp.StatusCode, resp.Header.Get("X-Served-Version"))
	}
	var h http.Header
	select {
	case h = <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("upstream saw no request")
	}
	for k, want := range map[string]string{
		"Traceparent":       traceparent,
		"Baggage":           baggage,
		"X-Env":             "canary",
		"X-Custom":          "a",
		"X-Turnout-Version": "v1",
		"X-Forwarded-For":   "10.0.0.1, 127.0.0.1",
		"X-Forwarded-Proto": "http",
		"X-Forwarded-Host":  strings.TrimPrefix(tt.URL, "http://"),
	} {
		if vs := h.Values(k); len(vs) != 1 || vs[0] != want {
			t.Errorf("upstream %s = %q, want [%q]", k, vs, want)
		}
	}
	if vs := h.Values("X-Hop"); len(vs) != 0 {
		t.Errorf("hop-by-hop X-Hop reached the upstream: %q", vs)
	}
	for _, v := range h.Values("Connection") {
		if strings.Contains(strings.ToLower(v), "x-hop") {
			t.Errorf("Connection header reached the upstream: %q", v)
		}
	}
}

func TestE2EErrorMapping(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(3 * time.Second):
		case <-r.Context().Done():
		}
		_, _ = io.WriteString(w, "late")
	}))
	t.Cleanup(slow.Close)
	tt := testutil.Start(t, `
upstreams:
  down: { targets: [http://{{DOWN}}] }
  slow: { targets: [{{SLOW}}], timeout: 200ms }
services:
  api:
    match: { path_prefix: / }
    default: v1
    versions:
      v1: { upstream: down }
      v2: { upstream: slow }
`, map[string]string{"DOWN": testutil.ClosedAddr(t), "SLOW": slow.URL})

	c := &http.Client{Timeout: 5 * time.Second}
	for _, tc := range []struct {
		name, pin string
		want      int
	}{
		{"upstream down", "1", http.StatusBadGateway},
		{"upstream slower than its timeout", "2", http.StatusGatewayTimeout}, // not the late 200
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, tt.URL+"/x", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("X-API-Version", tc.pin)
			resp, err := c.Do(req)
			if err != nil {
				t.Fatalf("client: %v", err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, b, tc.want)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q, want JSON", ct)
			}
			var body struct {
				Error  string `json:"error"`
				Status int    `json:"status"`
			}
			if err := json.Unmarshal(b, &body); err != nil || body.Status != tc.want || body.Error == "" {
				t.Errorf("body %q (%v), want JSON error with status %d", b, err, tc.want)
			}
		})
	}
}

// TestE2EFallbackRestoresTargetPath: a request retried on the fallback
// version reaches the fallback target's base path joined with the request
// path once, not with the failed target's base path in between.
func TestE2EFallbackRestoresTargetPath(t *testing.T) {
	v1 := testutil.VersionServer(t, "v1")
	tt := testutil.Start(t, `
upstreams:
  b-v1: { targets: [{{V1}}/api] }
  b-v2: { targets: [http://{{DOWN}}/base] }
services:
  users:
    match: { path_prefix: /users }
    default: v1
    fallback: true
    versions:
      v1: { upstream: b-v1 }
      v2: { upstream: b-v2 }
    rollout: { from: v1, to: v2, weight: 100 }
`, map[string]string{"V1": v1.URL, "DOWN": testutil.ClosedAddr(t)})
	c := &http.Client{Timeout: 5 * time.Second}
	code, served, body := testutil.Get(t, c, tt.URL+"/users/1")
	if code != http.StatusOK || served != "v1" || !strings.Contains(body, `"path":"/api/users/1"`) {
		t.Fatalf("fallback GET = %d %q %s, want v1 at /api/users/1", code, served, body)
	}
}
