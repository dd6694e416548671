package gateway_test

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptrace"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/gateway"
	"github.com/turnout-gw/turnout/internal/testutil"
	"github.com/turnout-gw/turnout/internal/testutil/testclock"
	"github.com/turnout-gw/turnout/internal/testutil/testpki"
)

const mtlsYAML = `
tls:
  cert: {{CERT}}
  key: {{KEY}}
  client_ca: {{CA}}
  require: {{REQUIRE}}
  min_version: "{{MIN}}"
upstreams:
  v1: { targets: [{{V1}}] }
  v2: { targets: [{{V2}}] }
services:
  api:
    match: { path_prefix: / }
    default: v1
    versions: { v1: { upstream: v1 }, v2: { upstream: v2 } }
    rules:
      - name: partner-alice
        match: { client_cert: { subject: alice } }
        version: v2
      - name: partner-by-uri
        match: { client_cert: { san: "spiffe://example.org/carol" } }
        version: v2
`

// pki is a server certificate and client certificates of a trusted and of
// a foreign CA, in one temp directory.
type pki struct {
	dir                    string
	serverCA               *testpki.CA
	server                 *testpki.Leaf
	clientCA               *testpki.CA
	alice, bob, carol, eve *testpki.Leaf
}

func newPKI(t *testing.T) *pki {
	dir := t.TempDir()
	p := &pki{dir: dir, serverCA: testpki.NewCA(t, dir, "server"), clientCA: testpki.NewCA(t, dir, "clients")}
	p.server = p.serverCA.Server(t, dir, "gateway")
	p.alice = p.clientCA.Issue(t, dir, "alice", testpki.Spec{CN: "alice", Client: true})
	p.bob = p.clientCA.Issue(t, dir, "bob", testpki.Spec{CN: "bob", Client: true})
	p.carol = p.clientCA.Issue(t, dir, "carol", testpki.Spec{CN: "carol", Client: true, URIs: []string{"spiffe://example.org/carol"}})
	// eve's certificate says alice but comes from a CA Turnout does not trust.
	p.eve = testpki.NewCA(t, dir, "foreign").Issue(t, dir, "eve", testpki.Spec{CN: "alice", Client: true})
	return p
}

func (p *pki) vars(t *testing.T, require bool, minVersion string) map[string]string {
	req := "false"
	if require {
		req = "true"
	}
	return map[string]string{"CERT": p.server.CertFile, "KEY": p.server.KeyFile, "CA": p.clientCA.File, "REQUIRE": req, "MIN": minVersion,
		"V1": testutil.VersionServer(t, "v1").URL, "V2": testutil.VersionServer(t, "v2").URL}
}

// client returns an HTTPS client trusting the server CA and presenting
// leaf (none when nil), limited to TLS maxVersion when not 0.
func (p *pki) client(t *testing.T, leaf *testpki.Leaf, maxVersion uint16) *http.Client {
	cfg := &tls.Config{RootCAs: p.serverCA.Pool(), MaxVersion: maxVersion}
	if leaf != nil {
		// Sent whatever CAs the server names (Certificates would hold back
		// a certificate of a CA the server does not ask for).
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &leaf.TLS, nil }
	}
	tr := &http.Transport{TLSClientConfig: cfg}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}
}

// served sends GET / and returns the version that served it, or "" and the
// error when the request failed.
func served(c *http.Client, url string) (string, error) {
	resp, err := c.Get(url + "/")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.Header.Get("X-Served-Version"), nil
}

// TestDataPlaneMTLS: with a client CA, a valid certificate is accepted and
// its identity routes; a certificate of another CA is always refused; a
// missing one is refused only with require: true; min_version 1.3 refuses
// TLS 1.2 clients.
func TestDataPlaneMTLS(t *testing.T) {
	p := newPKI(t)
	tests := []struct {
		name       string
		require    bool
		minVersion string
		leaf       *testpki.Leaf
		maxVersion uint16
		want       string // served version; "" = the request fails
	}{
		{"required, valid, subject rule", true, "1.2", p.alice, 0, "v2"},
		{"required, valid, san rule", true, "1.2", p.carol, 0, "v2"},
		{"required, valid, no rule", true, "1.2", p.bob, 0, "v1"},
		{"required, missing", true, "1.2", nil, 0, ""},
		{"required, wrong CA", true, "1.2", p.eve, 0, ""},
		{"optional, missing", false, "1.2", nil, 0, "v1"},
		{"optional, valid", false, "1.2", p.alice, 0, "v2"},
		{"optional, wrong CA", false, "1.2", p.eve, 0, ""},
		{"min 1.3, client at 1.2", false, "1.3", p.alice, tls.VersionTLS12, ""},
		{"min 1.3, client at 1.3", false, "1.3", p.alice, 0, "v2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tt := testutil.Start(t, mtlsYAML, p.vars(t, tc.require, tc.minVersion))
			url := "https://" + tt.App.Server.Addr()
			got, err := served(p.client(t, tc.leaf, tc.maxVersion), url)
			if got != tc.want {
				t.Fatalf("served by %q (error %v), want %q", got, err, tc.want)
			}
		})
	}
}

// TestServerCertRotation: a certificate rewritten on disk is served to new
// connections once the check interval passed, while a connection opened
// before keeps working with the certificate it was made with.
func TestServerCertRotation(t *testing.T) {
	p := newPKI(t)
	clk := testclock.New(time.Now())
	tt := testutil.StartWith(t, mtlsYAML, p.vars(t, false, "1.2"), gateway.AppOptions{Now: clk.Now})
	url := "https://" + tt.App.Server.Addr() + "/"

	// get returns the serial of the certificate the server presented and
	// whether the connection was reused.
	get := func(c *http.Client) (serial string, reused bool) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
			GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused },
		}))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		return resp.TLS.PeerCertificates[0].SerialNumber.String(), reused
	}
	old := p.client(t, nil, 0)
	first, _ := get(old)
	if first != p.server.Cert.SerialNumber.String() {
		t.Fatalf("served serial %s, want the configured certificate's %s", first, p.server.Cert.SerialNumber)
	}

	rotated := p.serverCA.Server(t, p.dir, "gateway") // same files, new certificate
	if got, _ := get(p.client(t, nil, 0)); got != first {
		t.Fatalf("a new connection got serial %s before the check interval passed", got)
	}
	clk.Advance(2 * time.Second)
	if got, _ := get(p.client(t, nil, 0)); got != rotated.Cert.SerialNumber.String() {
		t.Fatalf("a new connection after rotation got serial %s, want the rotated %s", got, rotated.Cert.SerialNumber)
	}
	got, reused := get(old)
	if !reused || got != first {
		t.Fatalf("the connection opened before rotation: reused %v, serial %s; want it kept with serial %s", reused, got, first)
	}
}
