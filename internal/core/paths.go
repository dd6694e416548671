package core

import (
	"path/filepath"

	"github.com/turnout-gw/turnout/internal/config"
)

// RelPath resolves a file named in the configuration: a relative path is
// taken relative to the configuration file's directory (as state, openapi,
// log.access, admin.tokens_file and every TLS file are).
func RelPath(cfg *config.Config, p string) string {
	if p == "" || filepath.IsAbs(p) || cfg.File == "" {
		return p
	}
	return filepath.Join(filepath.Dir(cfg.File), p)
}

// ServerTLSPaths returns t with its files resolved by RelPath (nil for nil).
func ServerTLSPaths(cfg *config.Config, t *config.ServerTLS) *config.ServerTLS {
	if t == nil {
		return nil
	}
	c := *t
	c.Cert, c.Key, c.ClientCA = RelPath(cfg, t.Cert), RelPath(cfg, t.Key), RelPath(cfg, t.ClientCA)
	return &c
}

// AdminTLSPaths returns t with its files resolved by RelPath (nil for nil).
func AdminTLSPaths(cfg *config.Config, t *config.AdminTLS) *config.AdminTLS {
	if t == nil {
		return nil
	}
	c := *t
	c.Cert, c.Key = RelPath(cfg, t.Cert), RelPath(cfg, t.Key)
	return &c
}

// UpstreamPaths returns u with its tls files resolved by RelPath; u itself
// when it has no TLS block.
func UpstreamPaths(cfg *config.Config, u *config.Upstream) *config.Upstream {
	if u == nil || u.TLS == nil {
		return u
	}
	c, t := *u, *u.TLS
	t.CA, t.Cert, t.Key = RelPath(cfg, t.CA), RelPath(cfg, t.Cert), RelPath(cfg, t.Key)
	c.TLS = &t
	return &c
}

// StatePath resolves the config's `state:` value: "memory" stays, a
// relative path is taken relative to the configuration file's directory.
func StatePath(cfg *config.Config, path string) string {
	if cfg.State == "memory" || filepath.IsAbs(cfg.State) || path == "" {
		return cfg.State
	}
	return filepath.Join(filepath.Dir(path), cfg.State)
}
