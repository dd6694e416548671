package upstream

import (
	"crypto/tls"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/testutil/testpki"
)

// TestUpstreamMTLS: an HTTPS upstream that requires client certificates
// accepts the pool's configured certificate (and sees the configured SNI),
// and refuses a pool without one.
func TestUpstreamMTLS(t *testing.T) {
	dir := t.TempDir()
	serverCA := testpki.NewCA(t, dir, "upstream-server")
	clientCA := testpki.NewCA(t, dir, "upstream-client")
	srvCert := serverCA.Server(t, dir, "upstream")
	client := clientCA.Issue(t, dir, "turnout-client", testpki.Spec{CN: "turnout-gateway", Client: true})
	stranger := testpki.NewCA(t, dir, "stranger").Issue(t, dir, "stranger", testpki.Spec{CN: "stranger", Client: true})

	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.TLS.PeerCertificates[0].Subject.CommonName+" via "+r.TLS.ServerName)
	}))
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	s.TLS = &tls.Config{Certificates: []tls.Certificate{srvCert.TLS}, ClientCAs: clientCA.Pool(), ClientAuth: tls.RequireAndVerifyClientCert}
	s.StartTLS()
	t.Cleanup(s.Close)

	spec := func(tlsSpec *config.UpstreamTLS) *config.Upstream {
		u := upstreamSpec(config.ProtocolHTTP1, s.URL)
		u.TLS = tlsSpec
		return u
	}
	t.Run("client certificate", func(t *testing.T) {
		p := mustPool(t, spec(&config.UpstreamTLS{CA: serverCA.File, ServerName: "localhost", Cert: client.CertFile, Key: client.KeyFile}))
		if got := mustGet(t, p, "/"); got != "turnout-gateway via localhost" {
			t.Errorf("upstream saw %q, want the client certificate's CN via the configured SNI", got)
		}
	})
	for name, tlsSpec := range map[string]*config.UpstreamTLS{
		"no client certificate":     {CA: serverCA.File, ServerName: "localhost"},
		"certificate of another CA": {CA: serverCA.File, ServerName: "localhost", Cert: stranger.CertFile, Key: stranger.KeyFile},
	} {
		t.Run(name, func(t *testing.T) {
			p := mustPool(t, spec(tlsSpec))
			code, body, err := send(p, newReq(t, http.MethodGet, "/"))
			if err == nil {
				t.Fatalf("request succeeded (%d %q); the upstream requires a certificate of its CA", code, body)
			}
			if !strings.Contains(err.Error(), "tls") && !strings.Contains(err.Error(), "certificate") {
				t.Errorf("error %q does not say the TLS handshake failed", err)
			}
		})
	}
	t.Run("missing key file", func(t *testing.T) {
		_, err := New(spec(&config.UpstreamTLS{Cert: client.CertFile, Key: dir + "/none.key"}), WithLogger(quiet))
		if err == nil || !strings.Contains(err.Error(), "none.key") {
			t.Fatalf("New = %v, want an error naming the missing key", err)
		}
	})
}
