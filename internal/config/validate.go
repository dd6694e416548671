package config

import (
	"fmt"
	"net"
	"strings"

	"github.com/turnout-gw/turnout/internal/chunks"
)

// Validation conventions. Every node's Validate checks the node and the
// nodes inside it, and nothing outside it; it is fast and does no I/O. Each
// problem is an *Error anchored at the offending value (or key) whose message
// starts with the key path relative to the node ("weight: ..."). A parent
// places its children's problems under their key with nest, so that by the
// time Config.Validate returns every message starts with the full path
// ("services.users.rollout.weight: ..."). References between nodes are
// checked by the lowest node that sees both ends: versions, rules, rollout
// and mirror by the Service, upstreams and service conflicts by the Config.

// Validate checks the whole configuration: every node, every reference
// between nodes (versions to upstreams, rules, rollouts and mirrors to
// versions) and conflicts between listeners and between services. It returns
// nil or an error holding every problem found; Flatten turns it into sorted
// Errors.
func (c *Config) Validate() error {
	var col collector
	col.add(checkListen(&c.Meta, "listen", c.Listen))
	if c.TLS != nil {
		col.add(nest("tls", c.TLS.Validate()))
	}
	col.add(nest("admin", c.Admin.Validate()))
	if c.XDS != nil {
		col.add(nest("xds", c.XDS.Validate()))
	}
	col.add(nest("log", c.Log.Validate()))
	col.add(nest("limits", c.Limits.Validate()))
	if c.Prometheus != nil {
		col.add(nest("prometheus", c.Prometheus.Validate()))
	}
	if c.Cluster != nil {
		col.add(nest("cluster", c.Cluster.Validate()))
	}
	if c.Trust != nil {
		col.add(nest("trust", c.Trust.Validate()))
		col.add(c.validateTrustRefs())
	}
	names := c.ServiceNames()
	col.add(c.validateListeners(names))
	col.add(c.validateClientCertRules(names))
	// Paths ("services.NAME") are spelled out only for a problem.
	for _, name := range c.UpstreamNames() {
		u := c.Upstreams[name]
		if u == nil {
			col.add(&Error{Pos: c.PosOf("upstreams"), Msg: join("upstreams", name) + ": empty upstream; it needs targets"})
			continue
		}
		if msg := nameProblem("upstream", name); msg != "" {
			col.add(&Error{Pos: u.KeyPos(""), Msg: join("upstreams", name) + ": " + msg})
		}
		if err := u.Validate(); err != nil {
			col.add(nest(join("upstreams", name), err))
		}
	}
	// Each service is checked on its own (by several goroutines in a large
	// configuration: the checks only read); the problems are collected in
	// the order of the names.
	cols := make([]collector, chunksFor(len(names)))
	chunks.Run(len(names), len(cols), func(chunk, lo, hi int) {
		for _, name := range names[lo:hi] {
			c.validateService(&cols[chunk], name)
		}
	})
	for _, sc := range cols {
		col.errs = append(col.errs, sc.errs...)
	}
	col.add(c.validateServiceConflicts(names))
	return col.err()
}

// validateService checks service name and its references to upstreams
// and Prometheus into col. It only reads c.
func (c *Config) validateService(col *collector, name string) {
	s := c.Services[name]
	if s == nil {
		col.add(&Error{Pos: c.PosOf("services"), Msg: join("services", name) + ": empty service; it needs versions and a default"})
		return
	}
	if msg := nameProblem("service", name); msg != "" {
		col.add(&Error{Pos: s.KeyPos(""), Msg: join("services", name) + ": " + msg})
	}
	if err := s.Validate(); err != nil {
		col.add(nest(join("services", name), err))
	}
	if err := c.validateUpstreamRefs(s); err != nil {
		col.add(nest(join("services", name), err))
	}
	if err := c.validatePrometheus(s); err != nil {
		col.add(nest(join("services", name), err))
	}
}

// validateUpstreamRefs checks that every version of s names a declared
// upstream whose targets fit the service's protocol (tcp:// for qn
// services, http(s):// for the others).
func (c *Config) validateUpstreamRefs(s *Service) error {
	missing := false
	for _, v := range s.Versions {
		if v != nil && v.Upstream != "" {
			if u, ok := c.Upstreams[v.Upstream]; !ok || upstreamProtocolProblem(s, v, u) != "" {
				missing = true
			}
		}
	}
	if !missing {
		return nil
	}
	var col collector
	for _, vn := range s.VersionNames() {
		v := s.Versions[vn]
		if v == nil || v.Upstream == "" {
			continue // reported by Service.Validate
		}
		u, ok := c.Upstreams[v.Upstream]
		if !ok {
			col.add(nest(join("versions", vn), v.problem("upstream",
				"upstream %q is not declared in upstreams (declared: %s)", v.Upstream, nameList(c.UpstreamNames()))))
		} else if msg := upstreamProtocolProblem(s, v, u); u != nil && msg != "" {
			col.add(nest(join("versions", vn), v.problem("upstream", "%s", msg)))
		}
	}
	return col.err()
}

// orDefault returns s, or def when s is empty.
func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Validate checks the HTTPS listener settings.
func (t *ServerTLS) Validate() error {
	var col collector
	col.add(checkListen(&t.Meta, "listen", t.Listen))
	if t.Cert == "" {
		col.add(t.missing("cert", "required: the path of the PEM certificate (chain) to serve"))
	}
	if t.Key == "" {
		col.add(t.missing("key", "required: the path of the PEM private key of cert"))
	}
	if t.Require && t.ClientCA == "" {
		col.add(t.problem("require", "needs client_ca: the PEM bundle of the CAs whose client certificates are accepted"))
	}
	switch t.MinVersion {
	case "", TLSVersion12, TLSVersion13:
	default:
		col.add(t.problem("min_version", "%q is not a TLS version Turnout accepts; use \"1.2\" or \"1.3\"", t.MinVersion))
	}
	return col.err()
}

// Validate checks the admin HTTPS settings: both files are needed.
func (t *AdminTLS) Validate() error {
	var col collector
	if t.Cert == "" {
		col.add(t.missing("cert", "required: the path of the PEM certificate (chain) the admin port serves"))
	}
	if t.Key == "" {
		col.add(t.missing("key", "required: the path of the PEM private key of cert"))
	}
	return col.err()
}

// validateClientCertRules reports rules that match on a client certificate
// while the data plane verifies none (no tls.client_ca).
func (c *Config) validateClientCertRules(names []string) error {
	if c.TLS != nil && c.TLS.ClientCA != "" {
		return nil
	}
	var col collector
	for _, name := range names {
		s := c.Services[name]
		if s == nil {
			continue
		}
		for i, r := range s.Rules {
			if r == nil || r.Match.ClientCert == nil {
				continue
			}
			col.add(&Error{Pos: r.Match.PosOf("client_cert"), Msg: fmt.Sprintf(
				"%s.rules[%d].match.client_cert: needs tls.client_ca, so that client certificates are asked for and verified", join("services", name), i)})
		}
	}
	return col.err()
}

// Validate checks the admin listener settings.
func (a *Admin) Validate() error {
	var col collector
	col.add(checkListen(&a.Meta, "listen", a.Listen))
	if a.TokenEnv != "" && !validEnvName(a.TokenEnv) {
		col.add(a.problem("token_env", "%q is not an environment variable name (letters, digits and '_', not starting with a digit)", a.TokenEnv))
	}
	if a.Has("tokens_file") && strings.TrimSpace(a.TokensFile) == "" {
		col.add(a.problem("tokens_file", "must not be empty; name the file of named tokens or leave tokens_file out"))
	}
	for i, h := range a.Hosts {
		if h == "" || strings.ContainsAny(h, "/ *") {
			col.add(a.problem("hosts", "hosts[%d] %q: want a host name such as turnout-admin.example.com (no scheme, path or wildcard)", i, h))
		}
	}
	if a.TLS != nil {
		col.add(nest("tls", a.TLS.Validate()))
	}
	return col.err()
}

// Validate checks the xDS server settings.
func (x *XDS) Validate() error {
	if x.Listen == "" {
		return x.missing("listen", "required when xds is set, e.g. 127.0.0.1:18000")
	}
	var col collector
	col.add(checkListen(&x.Meta, "listen", x.Listen))
	if x.EnvoyListen != "" {
		if err := checkListen(&x.Meta, "envoy_listen", x.EnvoyListen); err != nil {
			col.add(err)
		} else if host, _, _ := net.SplitHostPort(x.EnvoyListen); host != "" && net.ParseIP(host) == nil {
			col.add(x.problem("envoy_listen", "%q: Envoy listens on an IP address, not a host name (e.g. 0.0.0.0:10000)", x.EnvoyListen))
		}
	}
	if x.Has("authz_cluster") && (x.AuthzCluster == "" || strings.ContainsAny(x.AuthzCluster, " \t/")) {
		col.add(x.problem("authz_cluster", "%q: want the name of the Envoy bootstrap cluster that reaches Turnout's xds.listen, e.g. %s", x.AuthzCluster, DefaultAuthzCluster))
	}
	return col.err()
}

// Validate checks the log settings; empty values mean the defaults.
func (l *Log) Validate() error {
	var col collector
	switch l.Level {
	case "", "debug", "info", "warn", "error":
	default:
		col.add(l.problem("level", "%q is not a log level; use debug, info, warn or error", l.Level))
	}
	switch l.Format {
	case "", "text", "json":
	default:
		col.add(l.problem("format", "%q is not a log format; use text or json", l.Format))
	}
	if msg := accessProblem(l.Access); msg != "" {
		col.add(l.problem("access", "%s", msg))
	}
	return col.err()
}

// accessProblem says what is wrong with a log.access value: stdout, stderr
// or a file path ("" is off).
func accessProblem(v string) string {
	switch {
	case v == "" || v == "stdout" || v == "stderr":
		return ""
	case strings.TrimSpace(v) != v:
		return fmt.Sprintf("%q has leading or trailing spaces; use stdout, stderr or a file path", v)
	case strings.ContainsRune(v, 0):
		return "the path contains a NUL byte"
	case strings.HasSuffix(v, "/") || v == "." || v == "..":
		return fmt.Sprintf("%q is a directory; use stdout, stderr or a file path such as access.log", v)
	}
	return ""
}

// Validate checks that no limit is negative.
func (l *Limits) Validate() error {
	var col collector
	col.add(nonNegative(&l.Meta, "fallback_body", int64(l.FallbackBody)))
	col.add(nonNegative(&l.Meta, "max_header_bytes", int64(l.MaxHeaderBytes)))
	col.add(nonNegative(&l.Meta, "max_response_header_bytes", int64(l.MaxResponseHeaderBytes)))
	col.add(nonNegative(&l.Meta, "read_header_timeout", int64(l.ReadHeaderTimeout)))
	col.add(nonNegative(&l.Meta, "idle_timeout", int64(l.IdleTimeout)))
	col.add(nonNegative(&l.Meta, "max_in_flight", int64(l.MaxInFlight)))
	col.add(nonNegative(&l.Meta, "shutdown_grace", int64(l.ShutdownGrace)))
	col.add(nonNegative(&l.Meta, "request_body_timeout", int64(l.RequestBodyTimeout)))
	col.add(nonNegative(&l.Meta, "write_timeout", int64(l.WriteTimeout)))
	col.add(nonNegative(&l.Meta, "max_request_body_bytes", int64(l.MaxRequestBodyBytes)))
	return col.err()
}

// problem returns an *Error anchored at key's value (or the node when key
// was not written) whose message starts with key.
func (m *Meta) problem(key, format string, args ...any) *Error {
	return &Error{Pos: m.PosOf(key), Msg: key + ": " + fmt.Sprintf(format, args...)}
}

// keyProblem is problem anchored at key itself, for a key that should not
// have been written.
func (m *Meta) keyProblem(key, format string, args ...any) *Error {
	return &Error{Pos: m.KeyPos(key), Msg: key + ": " + fmt.Sprintf(format, args...)}
}

// entryProblem reports a problem with the entry name of the mapping at
// field (such as arms.v3), anchored at the entry's name when atName, else
// at its value.
func (m *Meta) entryProblem(field, name string, atName bool, format string, args ...any) *Error {
	p := m.PosOf(field + "." + name)
	if atName {
		p = m.KeyPos(field + "." + name)
	}
	return &Error{Pos: p, Msg: join(field, name) + ": " + fmt.Sprintf(format, args...)}
}

// missing reports a required key: at its value when it was written (empty),
// else at the key or name the node was written under, else at the node.
func (m *Meta) missing(key, format string, args ...any) *Error {
	p := m.KeyPos("")
	if m.Has(key) {
		p = m.PosOf(key)
	}
	return &Error{Pos: p, Msg: key + ": " + fmt.Sprintf(format, args...)}
}

// nest places a child node's problems under path: "weight: ..." reported by
// a rollout becomes "rollout.weight: ...", "[2]: ..." becomes "steps[2]: ...".
func nest(path string, err error) error {
	if err == nil {
		return nil
	}
	es := Flatten(err)
	out := make(Errors, len(es))
	for i, e := range es {
		sep := "."
		if strings.HasPrefix(e.Msg, "[") {
			sep = ""
		}
		out[i] = &Error{Pos: e.Pos, Msg: path + sep + e.Msg, Warning: e.Warning}
	}
	return out
}
