package config

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// validateProtocol checks what depends on the service's protocol: a qn
// service has a listen address, versions that say which QN version they
// speak, and none of the keys the QN listener refuses (Service.Refusals
// for ApplierQN: the HTTP-only blocks, rollout.sticky, versions' faults);
// an http service has none of the QN keys.
func (s *Service) validateProtocol() error {
	var col collector
	switch s.Protocol {
	case "", ServiceHTTP:
		if s.Has("listen") {
			col.add(s.keyProblem("listen", "only qn services (protocol: qn) have their own listen address; HTTP services are served on the top-level listen"))
		}
		if s.QN != nil {
			col.add(s.keyProblem("qn", "only qn services (protocol: qn) take qn settings"))
		}
		for _, name := range s.VersionNames() {
			v := s.Versions[name]
			if v == nil {
				continue
			}
			if v.Has("speaks") {
				col.add(nest(join("versions", name), v.keyProblem("speaks", "only versions of qn services (protocol: qn) speak a QN version")))
			}
			if v.Has("translate") {
				col.add(nest(join("versions", name), v.keyProblem("translate", "only versions of qn services (protocol: qn) translate")))
			}
		}
		return col.err()
	case ServiceQN:
	default:
		col.add(s.problem("protocol", "%q is not a service protocol; use http or qn", s.Protocol))
		return col.err()
	}
	if s.Listen == "" {
		col.add(s.missing("listen", "required for a qn service: the TCP address devices connect to, e.g. 127.0.0.1:7000"))
	} else {
		col.add(checkListen(&s.Meta, "listen", s.Listen))
	}
	// What the QN listener cannot honour (the applier table), at the key.
	for _, r := range s.qnRefusals() {
		col.add(&Error{Pos: r.KeyPos, Msg: r.Key + ": " + r.Why})
	}
	if q := s.QN; q != nil {
		col.add(nest("qn", q.Validate()))
	}
	for _, name := range s.VersionNames() {
		v := s.Versions[name]
		if v == nil {
			continue
		}
		switch v.Speaks {
		case SpeaksV1, SpeaksV2:
		case "":
			col.add(nest(join("versions", name), v.missing("speaks", "required for versions of a qn service: the QN version its upstream speaks, v1 or v2")))
		default:
			col.add(nest(join("versions", name), v.problem("speaks", "%q is not a QN version; use v1 or v2", v.Speaks)))
		}
	}
	return col.err()
}

// Validate checks the connection bounds of a qn service.
func (q *QNOptions) Validate() error {
	var col collector
	col.add(nonNegativeDuration(&q.Meta, "grace", q.Grace))
	col.add(nonNegativeDuration(&q.Meta, "first_frame_timeout", q.FirstFrameTimeout))
	col.add(nonNegativeDuration(&q.Meta, "idle_timeout", q.IdleTimeout))
	col.add(nonNegativeDuration(&q.Meta, "connect_timeout", q.ConnectTimeout))
	if q.MaxConnections < 0 {
		col.add(q.problem("max_connections", "%d must not be negative", q.MaxConnections))
	}
	if q.MaxFrame < 0 {
		col.add(q.problem("max_frame", "%d must not be negative", q.MaxFrame))
	} else if q.MaxFrame > 16<<20 {
		col.add(q.problem("max_frame", "%d is more than QN's largest payload (16MiB)", q.MaxFrame))
	}
	return col.err()
}

// applyQNDefaults fills in the connection bounds of a qn service.
func (s *Service) applyQNDefaults() {
	if s.QN == nil {
		s.QN = &QNOptions{Meta: Meta{At: s.KeyPos("")}}
	}
	q := s.QN
	if q.Grace == 0 && !q.Has("grace") {
		q.Grace = Duration(DefaultQNGrace)
	}
	if q.FirstFrameTimeout == 0 {
		q.FirstFrameTimeout = Duration(DefaultQNFirstFrameTimeout)
	}
	if q.IdleTimeout == 0 {
		q.IdleTimeout = Duration(DefaultQNIdleTimeout)
	}
	if q.ConnectTimeout == 0 {
		q.ConnectTimeout = Duration(DefaultQNConnectTimeout)
	}
	if q.MaxConnections == 0 {
		q.MaxConnections = DefaultQNMaxConnections
	}
	if q.MaxFrame == 0 {
		q.MaxFrame = DefaultQNMaxFrame
	}
}

// checkTCPTarget returns what is wrong with a tcp://host:port target, or "".
func checkTCPTarget(raw string) string {
	rest := raw[len("tcp://"):]
	if strings.ContainsAny(rest, "/?#") {
		return fmt.Sprintf("%q must be tcp://HOST:PORT, without a path, query or fragment", raw)
	}
	host, port, err := net.SplitHostPort(rest)
	switch {
	case err != nil:
		return fmt.Sprintf("%q must be tcp://HOST:PORT (e.g. tcp://127.0.0.1:7001)", raw)
	case host == "":
		return fmt.Sprintf("%q has no host", raw)
	case !validTargetPort(port):
		return fmt.Sprintf("%q has port %q; use a number from 1 to 65535", raw, port)
	case strings.ContainsFunc(host, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return fmt.Sprintf("%q has an invalid host %q", raw, host)
	}
	if _, err := url.Parse("tcp://" + rest); err != nil {
		return fmt.Sprintf("%q is not a valid address: %v", raw, err)
	}
	return ""
}

// validateTCPUpstream checks an upstream whose first target is tcp://:
// every target tcp://HOST:PORT and listed once, and none of the HTTP-only
// settings (protocol, health, tls).
func (u *Upstream) validateTCPUpstream() error {
	var col collector
	seen := map[string]int{}
	for i, t := range u.Targets {
		key := fmt.Sprintf("targets[%d]", i)
		if !strings.HasPrefix(strings.ToLower(t), "tcp://") {
			col.add(u.problem(key, "%q is not a tcp:// target but targets[0] is; an upstream's targets are all tcp:// (for qn services) or all http(s):// (for HTTP services)", t))
			continue
		}
		if msg := checkTCPTarget(t); msg != "" {
			col.add(u.problem(key, "%s", msg))
			continue
		}
		norm := strings.ToLower(t)
		if j, dup := seen[norm]; dup {
			col.add(u.problem(key, "%q is already listed as targets[%d]", t, j))
			continue
		}
		seen[norm] = i
	}
	for _, key := range []string{"protocol", "health", "tls"} {
		if u.Has(key) {
			col.add(u.keyProblem(key, "not available for tcp:// upstreams, which carry QN frames, not HTTP"))
		}
	}
	col.add(nonNegativeDuration(&u.Meta, "timeout", u.Timeout))
	if u.EjectAfter < 0 {
		col.add(u.problem("eject_after", "%d must not be negative", u.EjectAfter))
	}
	col.add(nonNegativeDuration(&u.Meta, "eject_for", u.EjectFor))
	return col.err()
}

// upstreamProtocolProblem returns what is wrong with version v of s using
// upstream u for the service's protocol, or "".
func upstreamProtocolProblem(s *Service, v *Version, u *Upstream) string {
	switch {
	case s.IsQN() && !u.IsTCP():
		return fmt.Sprintf("upstream %q has http targets; versions of a qn service need an upstream with tcp://HOST:PORT targets", v.Upstream)
	case !s.IsQN() && u.IsTCP():
		return fmt.Sprintf("upstream %q has tcp:// targets, which only qn services (protocol: qn) can use; an HTTP service needs http:// or https:// targets", v.Upstream)
	}
	return ""
}
