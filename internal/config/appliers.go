package config

import (
	"fmt"
	"strings"
)

// The applier table. One configuration is applied by several appliers:
// the proxy (`turnout serve`), the in-process middleware, Envoy and
// proxyless gRPC through the xDS export, and the QN listener. Each honours
// a key or refuses it here, by key and position: nothing is silently
// ignored. Refusals is the one place that says what each applier cannot
// honour; `turnout validate --for`, the middleware (New and Reload), the
// xDS export (its warnings) and qn services' validation all read it.

// Applier names a way of applying a configuration.
type Applier string

// The appliers.
const (
	ApplierProxy      Applier = "proxy"      // turnout serve's HTTP data plane
	ApplierMiddleware Applier = "middleware" // the in-process middleware (HTTP and gRPC)
	ApplierEnvoy      Applier = "xds-envoy"  // Envoy through the xDS export
	ApplierGRPC       Applier = "xds-grpc"   // proxyless gRPC clients through the xDS export
	ApplierQN         Applier = "qn"         // the QN listener (qn services)
)

// Appliers are every applier, in the order validate lists them.
var Appliers = []Applier{ApplierProxy, ApplierMiddleware, ApplierEnvoy, ApplierGRPC, ApplierQN}

// ParseApplier returns the applier named s.
func ParseApplier(s string) (Applier, error) {
	for _, a := range Appliers {
		if string(a) == strings.TrimSpace(s) {
			return a, nil
		}
	}
	return "", fmt.Errorf("%q is not an applier; use %s", s, nameList(appliersText()))
}

func appliersText() []string {
	out := make([]string, len(Appliers))
	for i, a := range Appliers {
		out[i] = string(a)
	}
	return out
}

// Refusal is one key an applier cannot honour.
type Refusal struct {
	Applier Applier
	// Key is the key's path (services.users.fallback).
	Key string
	// Pos is the key's value, KeyPos the key itself.
	Pos, KeyPos Pos
	// Why says what the applier does not do, naming it.
	Why string
	// Kept marks a key the applier ignores at run time, with a warning,
	// because one file may drive several appliers (the middleware's
	// fallback and mirror, which the proxy applies); `turnout validate
	// --for` refuses it all the same. Refusals not Kept are errors where
	// the applier loads the configuration.
	Kept bool
}

// Error is r as a configuration problem at the key's value, a warning
// when warning is set.
func (r Refusal) Error(warning bool) *Error {
	return &Error{Pos: r.Pos, Msg: r.Key + ": " + r.Why, Warning: warning}
}

// Refusals returns what applier a cannot honour in c, upstreams first (by
// name), then services by name, each service's keys in the order they
// are listed here. The proxy honours every key.
func (c *Config) Refusals(a Applier) []Refusal {
	var out []Refusal
	if a == ApplierEnvoy || a == ApplierGRPC {
		out = append(out, c.upstreamRefusals(a)...)
	}
	for _, name := range c.ServiceNames() {
		s := c.Services[name]
		for _, r := range s.Refusals(a) {
			r.Key = "services." + label(name) + "." + r.Key
			out = append(out, r)
		}
	}
	return out
}

// upstreamRefusals are the upstream settings the xDS appliers cannot
// honour, for the upstreams some HTTP service uses.
func (c *Config) upstreamRefusals(a Applier) []Refusal {
	used := map[string]bool{}
	for _, s := range c.Services {
		if s.IsQN() {
			continue
		}
		for _, v := range s.Versions {
			if v != nil {
				used[v.Upstream] = true
			}
		}
	}
	var out []Refusal
	for _, name := range c.UpstreamNames() {
		u := c.Upstreams[name]
		if !used[name] || u == nil || u.IsTCP() || !u.hasHTTPS() {
			continue
		}
		key := "upstreams." + label(name)
		switch {
		case a == ApplierGRPC:
			out = append(out, Refusal{Applier: a, Key: key, Pos: u.PosOf("targets"), KeyPos: u.KeyPos("targets"),
				Why: "https targets are not given to proxyless gRPC clients with TLS (gRPC takes its credentials from its own bootstrap)"})
		case a == ApplierEnvoy && u.TLS != nil && (u.TLS.CA != "" || u.TLS.InsecureSkipVerify):
			out = append(out, Refusal{Applier: a, Key: key + ".tls", Pos: u.TLS.PosOf("ca"), KeyPos: u.TLS.KeyPos("ca"),
				Why: "ca and insecure_skip_verify are not given to Envoy; configure its trust store"})
		}
	}
	return out
}

// hasHTTPS reports whether some target of u is an https URL.
func (u *Upstream) hasHTTPS() bool {
	for _, t := range u.Targets {
		if strings.HasPrefix(strings.ToLower(t), "https://") {
			return true
		}
	}
	return false
}

// qnRefused are the keys of a service the QN listener cannot honour, and
// why: devices send frames, not HTTP requests.
var qnRefused = []struct{ key, why string }{
	{"match", qnWhy},
	{"negotiate", qnWhy},
	{"rules", qnWhy},
	{"mirror", qnWhy},
	{"fallback", qnWhy},
	{"contract", qnWhy},
	{"limits", "not available for qn services: cap their connections with qn.max_connections"},
	{"clients", "not available for qn services: devices' frames are not counted per client"},
}

const qnWhy = "not available for qn services: devices are routed by the QN version of their first frame, the rollout split and default"

// Refusals returns what applier a cannot honour in s, each Key relative
// to the service (fallback, rules[2] (name), versions.v1.fault).
func (s *Service) Refusals(a Applier) []Refusal {
	if s.IsQN() {
		if a == ApplierQN {
			return s.qnRefusals()
		}
		if a == ApplierMiddleware {
			return []Refusal{{Applier: a, Key: "protocol", Pos: s.PosOf("protocol"), KeyPos: s.KeyPos("protocol"), Kept: true,
				Why: "the middleware serves HTTP and gRPC in process; qn services are served by `turnout serve`'s QN listener"}}
		}
		return nil // the proxy and the xDS export leave qn services to the QN listener
	}
	var out []Refusal
	add := func(key string, pos, keyPos Pos, kept bool, why string) {
		out = append(out, Refusal{Applier: a, Key: key, Pos: pos, KeyPos: keyPos, Why: why, Kept: kept})
	}
	if a == ApplierEnvoy || a == ApplierGRPC {
		for i, r := range s.Rules {
			if r == nil {
				continue
			}
			where := fmt.Sprintf("rules[%d] (%s)", i, r.Name)
			switch {
			case r.Match.Expr != "":
				add(where, r.Match.PosOf("expr"), r.Match.KeyPos("expr"), false,
					"expr cannot be expressed in Envoy; the rule is left out of the xDS routes")
			case a == ApplierGRPC && len(r.Match.Query) > 0:
				add(where, r.Match.PosOf("query"), r.Match.KeyPos("query"), false,
					"gRPC clients ignore routes with query conditions; the rule is left out of their routes")
			}
		}
	}
	if s.Fallback {
		switch a {
		case ApplierMiddleware:
			add("fallback", s.PosOf("fallback"), s.KeyPos("fallback"), true,
				"not applied in process: retrying on the fallback version needs a second exchange with an upstream, which a handler that has answered cannot give; applies to the proxy only")
		case ApplierEnvoy, ApplierGRPC:
			add("fallback", s.PosOf("fallback"), s.KeyPos("fallback"), false,
				"retrying a failed request on the fallback version is not expressed in Envoy")
		}
	}
	if m := s.Mirror; m != nil && m.Percent > 0 {
		switch a {
		case ApplierEnvoy:
			// Envoy's request mirror policy has no method list and draws
			// its share per request: what Decision.Mirror decides by method
			// and sticky key, Envoy cannot.
			add("mirror.methods", m.PosOf("methods"), m.KeyPos("methods"), false,
				"Envoy's request mirror policy copies every method, not only "+strings.Join(m.Methods, ", "))
			if m.Percent < 100 && s.Rollout != nil && s.Rollout.Sticky.String() != "" {
				add("mirror.percent", m.PosOf("percent"), m.KeyPos("percent"), false,
					fmt.Sprintf("Envoy draws the mirrored %v %% per request, not by the rollout's sticky key %s", m.Percent, s.Rollout.Sticky))
			}
		}
	}
	if s.Mirror != nil {
		switch a {
		case ApplierMiddleware:
			add("mirror", s.PosOf("mirror"), s.KeyPos("mirror"), true,
				"not applied in process: mirroring needs a copy of the request sent to an upstream; applies to the proxy only")
		case ApplierGRPC:
			add("mirror", s.PosOf("mirror"), s.KeyPos("mirror"), false,
				"proxyless gRPC clients have no request mirroring; nothing is mirrored from them")
		case ApplierEnvoy:
			if v := s.Versions[s.Mirror.To]; v != nil && v.ServedBy != "" {
				// The proxy adapts a copy to an adapted version both ways and
				// compares what its clients would get; Envoy would send it
				// raw to the serving upstream and compare nothing.
				add("mirror.to", s.Mirror.PosOf("to"), s.Mirror.KeyPos("to"), false,
					fmt.Sprintf("Envoy's request mirror policy would send the copies for %s unadapted to %s's upstream; mirroring to an adapted version (served_by) needs the proxy", label(s.Mirror.To), label(v.ServedBy)))
			}
		}
	}
	if n := &s.Negotiate; n.Body != "" && (a == ApplierEnvoy || a == ApplierGRPC) {
		add("negotiate.body", n.PosOf("body"), n.KeyPos("body"), false, bodyWhy[a])
	}
	out = append(out, s.adaptRefusals(a)...)
	if c := s.Clients; c != nil && (a == ApplierEnvoy || a == ApplierGRPC) {
		add("clients", s.PosOf("clients"), s.KeyPos("clients"), false,
			"requests served through Envoy or proxyless gRPC do not pass through Turnout and are not counted per client")
	}
	if c := s.Contract; c != nil && c.ValidatePercent > 0 {
		switch a {
		case ApplierMiddleware:
			out = append(out, Refusal{Applier: a, Key: "contract.validate_percent", Pos: c.PosOf("validate_percent"), KeyPos: c.KeyPos("validate_percent"),
				Why: "live contract validation applies to the proxy only (the middleware does not copy answers); set it to 0 or serve the service through `turnout serve`"})
		case ApplierEnvoy, ApplierGRPC:
			out = append(out, Refusal{Applier: a, Key: "contract.validate_percent", Pos: c.PosOf("validate_percent"), KeyPos: c.KeyPos("validate_percent"),
				Why: "answers served through Envoy or proxyless gRPC do not pass through Turnout and are not validated"})
		}
	}
	return out
}

// qnRefusals are the keys of qn service s the QN listener cannot honour:
// the HTTP-only blocks, limits, a rollout's sticky key and the versions'
// faults.
func (s *Service) qnRefusals() []Refusal {
	var out []Refusal
	for _, k := range qnRefused {
		if s.Has(k.key) {
			out = append(out, Refusal{Applier: ApplierQN, Key: k.key, Pos: s.PosOf(k.key), KeyPos: s.KeyPos(k.key), Why: k.why})
		}
	}
	if r := s.Rollout; r != nil && r.Has("sticky") {
		out = append(out, Refusal{Applier: ApplierQN, Key: "rollout.sticky", Pos: r.PosOf("sticky"), KeyPos: r.KeyPos("sticky"),
			Why: "qn rollouts are always sticky by the device_id field of a connection's first frame; remove sticky"})
	}
	out = append(out, s.adaptRefusals(ApplierQN)...)
	for _, name := range s.VersionNames() {
		if v := s.Versions[name]; v != nil && v.Has("fault") {
			out = append(out, Refusal{Applier: ApplierQN, Key: "versions." + label(name) + ".fault", Pos: v.PosOf("fault"), KeyPos: v.KeyPos("fault"),
				Why: "faults apply to HTTP services only: the QN listener injects none into frames"})
		}
	}
	return out
}

// bodyWhy says why the xDS appliers refuse negotiate.body: the version
// is read from the request body, which only Turnout's own appliers (the
// proxy and the middleware) read before routing.
var bodyWhy = map[Applier]string{
	ApplierEnvoy: "Envoy routes on headers and cannot read a version from the request body; the body source is left out of the xDS routes (clients must send the header, accept, path or query)",
	ApplierGRPC:  "proxyless gRPC clients route on headers and cannot read a version from the request body; the body source is left out of their routes",
}

// adaptWhy says, per applier, why versions' served_by and adapt are
// refused there: only the proxy reads and rewrites bodies.
var adaptWhy = map[Applier]string{
	ApplierMiddleware: "not applied in process: adapting a version rewrites the request for another version's upstream and its answer back, which needs the proxy (`turnout serve`)",
	ApplierEnvoy:      "Envoy cannot run Turnout's jq adapters; serve this version through `turnout serve` or give it its own upstream",
	ApplierGRPC:       "proxyless gRPC clients cannot run Turnout's jq adapters; give the version its own upstream",
	ApplierQN:         "qn versions translate frames with translate: true; served_by and adapt apply to HTTP services only",
}

// adaptRefusals are the versions' served_by and adapt keys applier a
// cannot honour (every applier but the proxy).
func (s *Service) adaptRefusals(a Applier) []Refusal {
	why, ok := adaptWhy[a]
	if !ok {
		return nil
	}
	var out []Refusal
	for _, name := range s.VersionNames() {
		v := s.Versions[name]
		if v == nil {
			continue
		}
		for _, key := range []string{"served_by", "adapt"} {
			if v.Has(key) {
				out = append(out, Refusal{Applier: a, Key: "versions." + label(name) + "." + key, Pos: v.PosOf(key), KeyPos: v.KeyPos(key), Why: why})
			}
		}
	}
	return out
}
