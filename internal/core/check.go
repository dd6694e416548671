package core

import (
	"crypto/tls"
	"errors"
	"log/slog"

	"github.com/turnout-gw/turnout/internal/certs"
	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/contract"
	"github.com/turnout-gw/turnout/internal/promsource"
	"github.com/turnout-gw/turnout/internal/route"
	"github.com/turnout-gw/turnout/internal/trust"
	"github.com/turnout-gw/turnout/internal/upstream"
)

// Validate is a dry run of Apply: the same compile and the same contract
// loading, nothing published.
func Validate(cfg *config.Config) error {
	_, err := Check(cfg)
	return err
}

// compileCheck is the compile part of Validate.
func compileCheck(cfg *config.Config) error {
	table, err := route.Compile(cfg)
	if err != nil {
		return err
	}
	if _, err := promsource.Compile(cfg); err != nil {
		return err
	}
	if _, err := trust.New(cfg.Trust, table, trust.WithLogger(slog.New(slog.DiscardHandler))); err != nil {
		return err
	}
	for _, name := range cfg.UpstreamNames() {
		if cfg.Upstreams[name].IsTCP() {
			continue // dialled by internal/qnproxy
		}
		p, err := upstream.New(UpstreamPaths(cfg, cfg.Upstreams[name]), poolLimits(cfg))
		if err != nil {
			return cfg.Upstreams[name].Errorf("targets", "upstream %q: %v", name, err)
		}
		p.Close()
	}
	return nil
}

// Check is Validate that also returns the configuration's contracts: a
// dry run of the compile, and every version's OpenAPI document loaded and
// each rollout's pair compared. Compile problems and documents that cannot
// be loaded are all reported, as config errors.
func Check(cfg *config.Config) (*Contracts, error) {
	cerr := compileCheck(cfg)
	contracts, err := buildContracts(cfg, contract.NewCache())
	if err := errors.Join(cerr, err, checkFiles(cfg)); err != nil {
		return nil, err
	}
	return contracts, nil
}

// checkFiles loads what the configuration's TLS blocks and tokens file
// name, so that `turnout validate` reports a missing or broken file: each
// problem anchored at the key naming the file (tokens file problems at
// their own FILE:LINE:COL).
func checkFiles(cfg *config.Config) error {
	var errs config.Errors
	pair := func(m *config.Meta, what, cert, key string) {
		if _, err := tls.LoadX509KeyPair(cert, key); err != nil {
			errs = append(errs, m.Errorf("cert", "%s.cert: cannot load certificate %s and key %s: %v", what, cert, key, err))
		}
	}
	if t := ServerTLSPaths(cfg, cfg.TLS); t != nil {
		pair(&t.Meta, "tls", t.Cert, t.Key)
		if t.ClientCA != "" {
			if _, err := certs.LoadPool(t.ClientCA); err != nil {
				errs = append(errs, t.Errorf("client_ca", "tls.client_ca: %v", err))
			}
		}
	}
	if t := AdminTLSPaths(cfg, cfg.Admin.TLS); t != nil {
		pair(&t.Meta, "admin.tls", t.Cert, t.Key)
	}
	if p := TokensPath(cfg); p != "" {
		if _, err := config.LoadTokens(p); err != nil {
			var es config.Errors
			if errors.As(err, &es) {
				errs = append(errs, es...)
			}
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}
