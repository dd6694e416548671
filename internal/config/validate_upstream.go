package config

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"unicode"
)

// Validate checks an upstream: at least one target, each an absolute http://
// or https:// URL without query or fragment and listed once, a known
// protocol that fits the targets' schemes, and its health checks and TLS.
func (u *Upstream) Validate() error {
	if u.IsTCP() {
		return u.validateTCPUpstream()
	}
	var col collector
	if len(u.Targets) == 0 {
		col.add(u.missing("targets", "at least one target URL is required, e.g. [http://127.0.0.1:9001]"))
	}
	switch u.Protocol {
	case "", ProtocolHTTP1, ProtocolH2, ProtocolH2C:
	default:
		col.add(u.problem("protocol", "%q is not a protocol; use http1, h2 or h2c", u.Protocol))
	}
	seen := map[string]int{}
	for i, t := range u.Targets {
		key := fmt.Sprintf("targets[%d]", i)
		if msg := checkHTTPURL(t, false); msg != "" {
			col.add(u.problem(key, "%s", msg))
			continue
		}
		norm := normalTarget(t)
		if j, dup := seen[norm]; dup {
			col.add(u.problem(key, "%q is already listed as targets[%d]", t, j))
			continue
		}
		seen[norm] = i
		scheme := strings.ToLower(t[:strings.Index(t, ":")])
		switch {
		case u.Protocol == ProtocolH2 && scheme == "http":
			col.add(u.problem(key, "%q is a cleartext target but protocol is h2, which needs https:// targets; use h2c for HTTP/2 without TLS", t))
		case u.Protocol == ProtocolH2C && scheme == "https":
			col.add(u.problem(key, "%q is an https:// target but protocol is h2c, which is cleartext; use h2 (or http1) for https targets", t))
		}
	}
	col.add(nonNegativeDuration(&u.Meta, "timeout", u.Timeout))
	if u.EjectAfter < 0 {
		col.add(u.problem("eject_after", "%d must not be negative", u.EjectAfter))
	}
	col.add(nonNegativeDuration(&u.Meta, "eject_for", u.EjectFor))
	col.add(nonNegative(&u.Meta, "max_connections", int64(u.MaxConnections)))
	if u.Health != nil {
		col.add(nest("health", u.Health.Validate()))
	}
	if u.TLS != nil {
		col.add(nest("tls", u.TLS.Validate()))
	}
	if u.H2 != nil {
		if u.Protocol != ProtocolH2 && u.Protocol != ProtocolH2C {
			col.add(u.problem("h2", "applies to HTTP/2 upstreams only; set protocol: h2 or h2c, or remove it"))
		}
		col.add(nest("h2", u.H2.Validate()))
	}
	return col.err()
}

// Validate checks the HTTP/2 tuning: durations not negative.
func (h *UpstreamH2) Validate() error {
	var col collector
	col.add(nonNegativeDuration(&h.Meta, "ping_interval", h.PingInterval))
	col.add(nonNegativeDuration(&h.Meta, "ping_timeout", h.PingTimeout))
	return col.err()
}

// Validate checks active health checks: an absolute path and a positive
// interval.
func (h *Health) Validate() error {
	var col collector
	if h.Path == "" {
		col.add(h.missing("path", "required: the path to probe on each target, e.g. /healthz"))
	} else if msg := checkHealthPath(h.Path); msg != "" {
		col.add(h.problem("path", "%s", msg))
	}
	if h.Interval <= 0 {
		col.add(h.missing("interval", "must be more than 0 when health checks are configured, e.g. 2s"))
	}
	col.add(nonNegativeDuration(&h.Meta, "timeout", h.Timeout))
	return col.err()
}

// checkHealthPath returns what is wrong with a health check path, or "".
func checkHealthPath(p string) string {
	if !strings.HasPrefix(p, "/") {
		return fmt.Sprintf("%q must start with \"/\", e.g. /healthz", p)
	}
	if _, err := url.ParseRequestURI(p); err != nil || strings.ContainsFunc(p, unicode.IsSpace) {
		return fmt.Sprintf("%q is not a valid request path", p)
	}
	return ""
}

// Validate checks TLS towards https targets: server_name, when set, is a
// bare host name; a client certificate comes with its key.
func (t *UpstreamTLS) Validate() error {
	var col collector
	if t.Cert != "" && t.Key == "" {
		col.add(t.missing("key", "required with cert: the path of the PEM private key of the client certificate"))
	}
	if t.Key != "" && t.Cert == "" {
		col.add(t.missing("cert", "required with key: the path of the PEM client certificate"))
	}
	col.add(t.validateServerName())
	return col.err()
}

// validateServerName checks that server_name, when set, is a bare host.
func (t *UpstreamTLS) validateServerName() error {
	if t.ServerName == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(t.ServerName); err == nil || strings.HasPrefix(t.ServerName, "*.") {
		return t.problem("server_name", "%q must be a host name without wildcard or port", t.ServerName)
	}
	if msg := checkHost(t.ServerName); msg != "" {
		return t.problem("server_name", "%s", msg)
	}
	return nil
}
