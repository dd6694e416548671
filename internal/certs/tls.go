package certs

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/filevalue"
)

// Option configures the loaders of this package.
type Option func(*options) error

type options struct {
	now func() time.Time
	log *slog.Logger
}

// WithClock sets the clock that paces file checks (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(o *options) error {
		if now == nil {
			return errors.New("certs: nil clock")
		}
		o.now = now
		return nil
	}
}

// WithLogger sets where reloads and failed reloads are logged.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return errors.New("certs: nil logger")
		}
		o.log = l
		return nil
	}
}

func apply(opts []Option) (options, error) {
	o := options{now: time.Now, log: slog.Default()}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return o, err
		}
	}
	return o, nil
}

// KeyPair is a certificate and its key, reloaded when their files change.
// It is safe for concurrent use.
type KeyPair struct {
	w *filevalue.Value[tls.Certificate]
}

// NewKeyPair loads the PEM certificate (chain) and key; what names the pair
// in errors and logs.
func NewKeyPair(what, certFile, keyFile string, opts ...Option) (*KeyPair, error) {
	o, err := apply(opts)
	if err != nil {
		return nil, err
	}
	load := func() (*tls.Certificate, error) {
		c, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("%s: loading %s and %s: %w", what, certFile, keyFile, err)
		}
		return &c, nil
	}
	w, err := filevalue.New(what, []string{certFile, keyFile}, load, o.now, o.log)
	if err != nil {
		return nil, err
	}
	return &KeyPair{w: w}, nil
}

// Certificate returns the current certificate.
func (k *KeyPair) Certificate() *tls.Certificate { return k.w.Get() }

// GetClientCertificate is a tls.Config.GetClientCertificate presenting the
// current certificate to servers that ask for one.
func (k *KeyPair) GetClientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	return k.w.Get(), nil
}

// MinVersion maps a configured min_version ("" = 1.2) to its constant.
func MinVersion(v string) uint16 {
	if v == config.TLSVersion13 {
		return tls.VersionTLS13
	}
	return tls.VersionTLS12
}

// serverFiles is what a server TLS configuration is built from.
type serverFiles struct {
	what, cert, key, clientCA string
	require                   bool
	minVersion                uint16
	nextProtos                []string
}

// Server returns the data plane's TLS configuration: the certificate of t,
// client certificates verified against t.ClientCA when set (required with
// t.Require, else verified when given), t.MinVersion, and ALPN h2 and
// http/1.1. Every handshake gets the material current at that moment.
func Server(t *config.ServerTLS, opts ...Option) (*tls.Config, error) {
	return serverConfig(serverFiles{what: "tls", cert: t.Cert, key: t.Key, clientCA: t.ClientCA, require: t.Require,
		minVersion: MinVersion(t.MinVersion), nextProtos: []string{"h2", "http/1.1"}}, opts)
}

// Admin returns the admin port's TLS configuration (HTTP/1.1, TLS 1.2 or
// later, no client certificates).
func Admin(t *config.AdminTLS, opts ...Option) (*tls.Config, error) {
	return serverConfig(serverFiles{what: "admin.tls", cert: t.Cert, key: t.Key,
		minVersion: tls.VersionTLS12, nextProtos: []string{"http/1.1"}}, opts)
}

func serverConfig(f serverFiles, opts []Option) (*tls.Config, error) {
	o, err := apply(opts)
	if err != nil {
		return nil, err
	}
	paths := []string{f.cert, f.key}
	if f.clientCA != "" {
		paths = append(paths, f.clientCA)
	}
	w, err := filevalue.New(f.what, paths, func() (*tls.Config, error) { return f.build() }, o.now, o.log)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion: f.minVersion,
		NextProtos: f.nextProtos,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return w.Get(), nil
		},
	}, nil
}

// build loads the files into a complete configuration for one generation
// of the material.
func (f serverFiles) build() (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(f.cert, f.key)
	if err != nil {
		return nil, fmt.Errorf("%s: loading certificate %s and key %s: %w", f.what, f.cert, f.key, err)
	}
	c := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: f.minVersion, NextProtos: f.nextProtos}
	if f.clientCA != "" {
		pool, err := LoadPool(f.clientCA)
		if err != nil {
			return nil, fmt.Errorf("%s: client_ca: %w", f.what, err)
		}
		c.ClientCAs = pool
		c.ClientAuth = tls.VerifyClientCertIfGiven
		if f.require {
			c.ClientAuth = tls.RequireAndVerifyClientCert
		}
	}
	return c, nil
}

// LoadPool reads a PEM bundle of CA certificates.
func LoadPool(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no PEM certificate found", path)
	}
	return pool, nil
}
