package route

import (
	"crypto/x509"
	"net/http"

	"github.com/turnout-gw/turnout/internal/config"
)

// VerifiedClientCert returns the client certificate of req when the TLS
// handshake verified it against tls.client_ca, else nil. A certificate a
// client sent but that was not verified never counts.
func VerifiedClientCert(req *http.Request) *x509.Certificate {
	if req.TLS == nil || len(req.TLS.VerifiedChains) == 0 || len(req.TLS.VerifiedChains[0]) == 0 {
		return nil
	}
	return req.TLS.VerifiedChains[0][0]
}

// MatchClientCert reports whether cert satisfies m: Subject equals the
// subject's common name or the whole subject in RFC 2253 form
// ("CN=alice,O=Example"); SAN equals one of its DNS names, URIs or e-mail
// addresses. A nil cert never matches.
func MatchClientCert(m *config.ClientCertMatch, cert *x509.Certificate) bool {
	if cert == nil {
		return false
	}
	if m.Subject != "" && m.Subject != cert.Subject.CommonName && m.Subject != cert.Subject.String() {
		return false
	}
	return m.SAN == "" || hasSAN(cert, m.SAN)
}

func hasSAN(cert *x509.Certificate, san string) bool {
	for _, d := range cert.DNSNames {
		if d == san {
			return true
		}
	}
	for _, u := range cert.URIs {
		if u.String() == san {
			return true
		}
	}
	for _, e := range cert.EmailAddresses {
		if e == san {
			return true
		}
	}
	return false
}
