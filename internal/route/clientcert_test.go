package route

import (
	"crypto/tls"
	"crypto/x509"
	"net/http/httptest"
	"testing"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/testutil/testpki"
)

func TestMatchClientCert(t *testing.T) {
	dir := t.TempDir()
	leaf := testpki.NewCA(t, dir, "ca").Issue(t, dir, "partner", testpki.Spec{CN: "partner-a", Client: true,
		DNS: []string{"partner-a.example"}, URIs: []string{"spiffe://example.org/partner-a"}, Emails: []string{"ops@partner-a.example"}})
	tests := []struct {
		name string
		m    config.ClientCertMatch
		cert *x509.Certificate
		want bool
	}{
		{"common name", config.ClientCertMatch{Subject: "partner-a"}, leaf.Cert, true},
		{"whole subject", config.ClientCertMatch{Subject: "CN=partner-a,O=Turnout tests"}, leaf.Cert, true},
		{"other subject", config.ClientCertMatch{Subject: "partner-b"}, leaf.Cert, false},
		{"dns san", config.ClientCertMatch{SAN: "partner-a.example"}, leaf.Cert, true},
		{"uri san", config.ClientCertMatch{SAN: "spiffe://example.org/partner-a"}, leaf.Cert, true},
		{"email san", config.ClientCertMatch{SAN: "ops@partner-a.example"}, leaf.Cert, true},
		{"other san", config.ClientCertMatch{SAN: "partner-b.example"}, leaf.Cert, false},
		{"both hold", config.ClientCertMatch{Subject: "partner-a", SAN: "partner-a.example"}, leaf.Cert, true},
		{"one of two fails", config.ClientCertMatch{Subject: "partner-a", SAN: "partner-b.example"}, leaf.Cert, false},
		{"no certificate", config.ClientCertMatch{Subject: "partner-a"}, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := MatchClientCert(&tc.m, tc.cert); got != tc.want {
				t.Errorf("MatchClientCert = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestVerifiedClientCert: only a verified chain counts, not a certificate
// the client merely sent.
func TestVerifiedClientCert(t *testing.T) {
	dir := t.TempDir()
	leaf := testpki.NewCA(t, dir, "ca").Issue(t, dir, "c", testpki.Spec{CN: "c", Client: true})
	plain := httptest.NewRequest("GET", "/", nil)
	sent := httptest.NewRequest("GET", "/", nil)
	sent.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf.Cert}}
	verified := httptest.NewRequest("GET", "/", nil)
	verified.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf.Cert}, VerifiedChains: [][]*x509.Certificate{{leaf.Cert}}}
	if VerifiedClientCert(plain) != nil || VerifiedClientCert(sent) != nil {
		t.Error("an unverified request has a verified client certificate")
	}
	if VerifiedClientCert(verified) != leaf.Cert {
		t.Error("the verified certificate is not returned")
	}
}
