package config

import (
	"fmt"
	"slices"
	"strings"

	"github.com/turnout-gw/turnout/internal/negotiate"
)

// Validate checks a service: its match and negotiation settings, its
// versions and the references inside it (default, successors, rules,
// experiment arms, rollout and mirror must name declared versions that are
// not gone). Upstream references are checked by Config.Validate.
func (s *Service) Validate() error {
	var col collector
	col.add(s.validateProtocol())
	col.add(nest("match", s.Match.Validate()))
	col.add(nest("negotiate", s.Negotiate.Validate()))
	col.add(s.validateVersions())
	if s.Default == "" {
		col.add(s.missing("default", "required: the version that serves requests asking for none (declared: %s)", nameList(s.VersionNames())))
	} else if msg := s.refProblem(s.Default); msg != "" {
		col.add(s.problem("default", "%s", msg))
	} else {
		col.add(s.validateScheduledDefault())
	}
	col.add(s.validateRules())
	col.add(s.validateFaults())
	col.add(s.validateLimits())
	if s.Clients != nil {
		col.add(nest("clients", s.Clients.Validate()))
	}
	if r := s.Rollout; r != nil {
		col.add(nest("rollout", r.Validate()))
		if msg := s.refProblem(r.From); r.From != "" && msg != "" {
			col.add(nest("rollout", r.problem("from", "%s", msg)))
		}
		if msg := s.refProblem(r.To); r.To != "" && msg != "" {
			col.add(nest("rollout", r.problem("to", "%s", msg)))
		}
		col.add(s.validateRequireCompatible())
		if a := &r.Analysis; a.MaxContractViolationRate != nil && (s.Contract == nil || s.Contract.ValidatePercent <= 0) {
			col.add(nest("rollout.analysis", a.problem("max_contract_violation_rate",
				"needs contract.validate_percent above 0 in this service to measure violations (e.g. contract: {validate_percent: 10})")))
		}
		if a := &r.Analysis; a.MaxDiffRate != nil && (s.Mirror == nil || s.Mirror.Compare == nil) {
			col.add(nest("rollout.analysis", a.problem("max_diff_rate",
				"needs mirror with compare in this service to measure response differences (e.g. mirror: {to: %s, compare: {}})", label(orDefault(r.To, "VERSION")))))
		}
	}
	if c := s.Contract; c != nil && !s.IsQN() { // a qn service may not have one (validateProtocol)
		col.add(nest("contract", c.Validate()))
		col.add(s.validateContractDocs())
	}
	if m := s.Mirror; m != nil {
		col.add(nest("mirror", m.Validate()))
		if msg := s.refProblem(m.To); m.To != "" && msg != "" {
			col.add(nest("mirror", m.problem("to", "%s", msg)))
		}
	}
	return col.err()
}

// path returns the absolute path of sub inside the service, for messages
// that point elsewhere in the file.
func (s *Service) path(sub string) string {
	if s.Name == "" {
		return sub
	}
	return join("services", s.Name) + "." + sub
}

// refProblem returns what is wrong with a reference to the version name
// from a place that sends traffic to it: not declared, or gone.
func (s *Service) refProblem(name string) string {
	v, ok := s.Versions[name]
	if !ok || v == nil {
		return fmt.Sprintf("version %q is not declared in %s (declared: %s)", name, s.path("versions"), nameList(s.VersionNames()))
	}
	if v.Lifecycle == LifecycleGone {
		var live []string
		for _, n := range s.VersionNames() {
			if w := s.Versions[n]; w != nil && w.Lifecycle != LifecycleGone {
				live = append(live, n)
			}
		}
		return fmt.Sprintf("version %q is gone and cannot serve traffic (versions not gone: %s)", name, nameList(live))
	}
	return ""
}

// validateVersions checks each version, its name and its successor, and
// that redirects do not loop.
func (s *Service) validateVersions() error {
	var col collector
	if len(s.Versions) == 0 {
		col.add(s.missing("versions", "at least one version is required, e.g. versions: {v1: {upstream: NAME}}"))
	}
	for _, name := range s.VersionNames() {
		v := s.Versions[name]
		if v == nil {
			col.add(&Error{Pos: s.PosOf("versions"), Msg: join("versions", name) + ": empty version; it needs an upstream"})
			continue
		}
		if msg := nameProblem("version", name); msg != "" {
			col.add(&Error{Pos: v.KeyPos(""), Msg: join("versions", name) + ": " + msg})
		}
		if err := v.Validate(); err != nil {
			col.add(nest(join("versions", name), err))
		}
		col.add(nest(join("versions", name), s.validateServedBy(name, v)))
		if v.Successor != "" && v.Successor != name {
			if msg := s.refProblem(v.Successor); msg != "" {
				col.add(nest(join("versions", name), v.problem("successor", "%s", msg)))
			}
		}
	}
	col.add(s.validateRedirectLoops())
	return col.err()
}

// validateRedirectLoops reports redirects whose successor chain comes back
// to them, which would send clients round in circles. Each loop is reported
// once, at its smallest name.
func (s *Service) validateRedirectLoops() error {
	redirects := false
	for _, v := range s.Versions {
		redirects = redirects || (v != nil && (v.Lifecycle == LifecycleRedirect || v.scheduledRedirect()))
	}
	if !redirects {
		return nil
	}
	var col collector
	const (
		walking = 1
		done    = 2
	)
	state := map[string]int{}
	next := func(name string) (string, bool) {
		v := s.Versions[name]
		if v == nil || (v.Lifecycle != LifecycleRedirect && !v.scheduledRedirect()) || v.Successor == "" || v.Successor == name {
			return "", false // a self-successor is reported by Version.Validate
		}
		return v.Successor, true
	}
	for _, start := range s.VersionNames() {
		var path []string
		cur, ok := start, true
		for ok && state[cur] == 0 {
			state[cur] = walking
			path = append(path, cur)
			cur, ok = next(cur)
		}
		if ok && state[cur] == walking { // cur is on this path: a loop
			loop := path[slices.Index(path, cur):]
			least := slices.Index(loop, slices.Min(loop))
			loop = slices.Concat(loop[least:], loop[:least])
			col.add(nest(join("versions", loop[0]), s.Versions[loop[0]].problem("successor",
				"redirect loop %s -> %s; a chain of redirects must end at a version that serves traffic",
				strings.Join(loop, " -> "), loop[0])))
		}
		for _, n := range path {
			state[n] = done
		}
	}
	return col.err()
}

// validateRules checks each rule, that rule names are unique and that rules
// and experiment arms send traffic to versions that can serve it.
func (s *Service) validateRules() error {
	var col collector
	path := func(i int) string { return fmt.Sprintf("rules[%d]", i) } // spelled out for a problem only
	for i, r := range s.Rules {
		if r == nil {
			col.add(s.problem(path(i), "empty rule; a rule needs name, match and version or experiment"))
			continue
		}
		if err := r.Validate(); err != nil {
			col.add(nest(path(i), err))
		}
		if r.Name != "" {
			for j, q := range s.Rules[:i] {
				if q != nil && q.Name == r.Name {
					col.add(nest(path(i), r.problem("name", "%q is already the name of rules[%d]; rule names must be unique within a service", r.Name, j)))
					break
				}
			}
		}
		if r.Version != "" {
			if msg := s.refProblem(r.Version); msg != "" {
				col.add(nest(path(i), r.problem("version", "%s", msg)))
			}
		}
		if e := r.Experiment; e != nil {
			for _, arm := range sortedKeys(e.Arms) {
				if msg := s.refProblem(arm); msg != "" {
					col.add(nest(path(i)+".experiment", e.entryProblem("arms", arm, true, "%s", msg)))
				}
			}
		}
	}
	return col.err()
}

// Validate checks which requests a service matches: a path_prefix starting
// with "/" and bare host names (a leading "*." wildcard is allowed).
func (m *Match) Validate() error {
	var col collector
	if m.PathPrefix != "" {
		if msg := checkPathPrefix(m.PathPrefix); msg != "" {
			col.add(m.problem("path_prefix", "%s", msg))
		}
	}
	seen := map[string]int{}
	for i, h := range m.Hosts {
		if msg := checkHost(h); msg != "" {
			col.add(m.problem(fmt.Sprintf("hosts[%d]", i), "%s", msg))
			continue
		}
		if j, dup := seen[strings.ToLower(h)]; dup {
			col.add(m.problem(fmt.Sprintf("hosts[%d]", i), "%q is already listed as hosts[%d]", h, j))
			continue
		}
		seen[strings.ToLower(h)] = i
	}
	return col.err()
}

// Validate checks version negotiation: known sources listed once, a header
// and query name that are HTTP tokens, an accept_vendor of the form
// type/subtype, and a body source with its JSON Pointer (checkBody).
func (n *Negotiate) Validate() error {
	var col collector
	var seen [5]int // index+1 of each source's first listing
	for i, src := range n.Sources {
		k := slices.Index([]string{SourceHeader, SourceAccept, SourcePath, SourceQuery, SourceBody}, src)
		if k < 0 {
			col.add(n.problem(fmt.Sprintf("sources[%d]", i), "%q is not a source; use header, accept, path, query or body", src))
			continue
		}
		if src == SourceBody && n.Body == "" {
			col.add(n.problem(fmt.Sprintf("sources[%d]", i), "the body source needs negotiate.body, the JSON Pointer of the version in the body (e.g. body: /api_version)"))
		}
		if j := seen[k]; j > 0 {
			col.add(n.problem(fmt.Sprintf("sources[%d]", i), "%q is already listed as sources[%d]", src, j-1))
			continue
		}
		seen[k] = i + 1
	}
	n.checkBody(&col)
	if n.Header != "" && !isToken(n.Header) {
		col.add(n.problem("header", "%q is not a valid header name", n.Header))
	}
	if n.Query != "" && !isToken(n.Query) {
		col.add(n.problem("query", "%q is not a valid query parameter name (letters, digits and !#$%%&'*+-.^_`|~)", n.Query))
	}
	if v := n.AcceptVendor; v != "" {
		typ, sub, ok := strings.Cut(v, "/")
		switch {
		case strings.ContainsAny(v, ";,"):
			col.add(n.problem("accept_vendor", "%q must be a bare media type without parameters, e.g. application/vnd.example", v))
		case strings.Contains(sub, "+"):
			col.add(n.problem("accept_vendor", "%q must not have a +suffix; write %s (requests may send %s.v2+json)", v, v[:strings.Index(v, "+")], v[:strings.Index(v, "+")]))
		case !ok || !isToken(typ) || !isToken(sub) || strings.Contains(typ, "*") || strings.Contains(sub, "*"):
			col.add(n.problem("accept_vendor", "%q is not a media type of the form type/subtype, e.g. application/vnd.example", v))
		}
	}
	return col.err()
}

// Validate checks one version: an upstream, a known lifecycle, a successor
// other than itself (required for redirect) and a sunset after
// deprecated_at. Whether the names exist is checked by Service.Validate.
func (v *Version) Validate() error {
	var col collector
	if v.Upstream == "" && v.ServedBy == "" {
		col.add(v.missing("upstream", "required: the name of the upstream that serves this version (or served_by: VERSION)"))
	}
	switch v.Lifecycle {
	case "", LifecycleActive, LifecycleDeprecated, LifecycleRedirect, LifecycleGone:
	default:
		col.add(v.problem("lifecycle", "%q is not a lifecycle; use active, deprecated, redirect or gone", v.Lifecycle))
	}
	switch {
	case v.Successor != "" && v.Successor == v.Name:
		col.add(v.problem("successor", "a version cannot be its own successor (%q)", v.Successor))
	case v.Successor == "" && v.Lifecycle == LifecycleRedirect:
		col.add(v.missing("successor", "required when lifecycle is redirect: the version clients are redirected to"))
	}
	if msg := openAPIProblem(v.OpenAPI); v.Has("openapi") && msg != "" {
		col.add(v.problem("openapi", "%s", msg))
	}
	if v.Sunset != nil && v.DeprecatedAt != nil && v.Sunset.Before(v.DeprecatedAt.Time) {
		col.add(v.problem("sunset", "%s is before deprecated_at (%s)", v.Sunset.Format("2006-01-02T15:04:05Z07:00"), v.DeprecatedAt.Format("2006-01-02T15:04:05Z07:00")))
	}
	col.add(v.validateSchedule())
	return col.err()
}

// openAPIProblem says what is wrong with a version's openapi path, without
// reading it: the gateway loads the document when it compiles the file.
func openAPIProblem(p string) string {
	switch {
	case p == "":
		return "empty; name the version's OpenAPI document, e.g. openapi: users-v2.yaml"
	case strings.TrimSpace(p) != p:
		return fmt.Sprintf("%q has leading or trailing spaces", p)
	case strings.ContainsRune(p, 0):
		return "the path contains a NUL byte"
	case strings.HasSuffix(p, "/") || p == "." || p == "..":
		return fmt.Sprintf("%q is a directory; name the OpenAPI document file", p)
	case strings.Contains(p, "://"):
		return fmt.Sprintf("%q is a URL; OpenAPI documents are read from local files (relative to this file's directory)", p)
	}
	return ""
}

// validateRequireCompatible checks that a rollout that requires compatible
// contracts has an openapi document on both its versions.
func (s *Service) validateRequireCompatible() error {
	r := s.Rollout
	if !r.RequireCompatible {
		return nil
	}
	var missing []string
	for _, name := range []string{r.From, r.To} {
		if v := s.Versions[name]; v != nil && v.OpenAPI == "" && !slices.Contains(missing, label(name)) {
			missing = append(missing, label(name))
		}
	}
	if len(missing) == 0 {
		return nil
	}
	noun := "version"
	if len(missing) > 1 {
		noun = "versions"
	}
	return nest("rollout", r.problem("require_compatible", "needs the OpenAPI documents of %s and %s to compare; set openapi: PATH on %s %s",
		label(r.From), label(r.To), noun, strings.Join(missing, " and ")))
}

// validateContractDocs checks that what the contract block asks for has
// documents: validation needs a rollout whose `from` version has one (its
// answers are validated against it), or whose `to` is an adapted version
// with one, or an adapted version with one; tracking deprecated usage
// needs at least one version with one.
func (s *Service) validateContractDocs() error {
	c := s.Contract
	if c.ValidatePercent > 0 {
		// An adapted version with a document of its own is validated
		// against it; so is a rollout's `to` that is one. Any other `to`
		// is validated against `from`'s document.
		adapted := false
		for _, v := range s.Versions {
			adapted = adapted || v != nil && v.ServedBy != "" && v.OpenAPI != ""
		}
		r := s.Rollout
		if r == nil && !adapted {
			return nest("contract", c.problem("validate_percent", "validates the answers of a rollout's `to` version, or of a version served_by another against its own openapi document; this service has neither"))
		}
		if r != nil {
			to, from := s.Versions[r.To], s.Versions[r.From]
			ownDoc := to != nil && to.ServedBy != "" && to.OpenAPI != ""
			if from != nil && from.OpenAPI == "" && !ownDoc {
				return nest("contract", c.problem("validate_percent", "needs the OpenAPI document of %s, the rollout's from, to validate %s's answers against; set openapi: PATH on version %s",
					label(r.From), label(r.To), label(r.From)))
			}
		}
	}
	if c.Has("client_key") {
		for _, v := range s.Versions {
			if v != nil && v.OpenAPI != "" {
				return nil
			}
		}
		return nest("contract", c.problem("client_key", "names the clients of deprecated operations, which come from the versions' OpenAPI documents; no version sets openapi"))
	}
	return nil
}

// checkBody checks the body source's settings: body a JSON Pointer to a
// member (not the whole body), listed in sources when sources are given,
// and max_body above 0 and set only with body.
func (n *Negotiate) checkBody(col *collector) {
	if n.Has("body") {
		if _, err := negotiate.ParsePointer(n.Body); err != nil {
			col.add(n.problem("body", "%v", err))
		} else if n.Has("sources") && !slices.Contains(n.Sources, SourceBody) {
			col.add(n.problem("body", "sources does not list body: add body to sources where it takes precedence (e.g. [header, body])"))
		}
	}
	switch {
	case n.Has("max_body") && n.Body == "":
		col.add(n.problem("max_body", "bounds the body read for negotiate.body, which is not set"))
	case n.Has("max_body") && n.MaxBody <= 0:
		col.add(n.problem("max_body", "must be above 0 (default %d bytes)", DefaultNegotiateBody))
	}
}
