package xds

import (
	"regexp"
	"strings"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/negotiate"
	"github.com/turnout-gw/turnout/internal/route"
)

// translator carries what one Translate call needs and the warnings it
// collects. It lives for one call.
type translator struct {
	kind     Kind
	faults   bool // some version or rule injects faults
	cfg      *config.Config
	warnings config.Errors
}

// refusals records, as warnings, what the configuration's applier table
// (config.Config.Refusals) says the translation's kind cannot honour.
func (tr *translator) refusals() {
	if tr.cfg == nil {
		return
	}
	for _, r := range tr.cfg.Refusals(tr.kind.Applier()) {
		e := r.Error(true)
		e.Msg = "xds: " + e.Msg
		tr.warnings = append(tr.warnings, e)
	}
}

// serviceRoutes lists one service's routes in the order route.Table.Decide
// tries things: each negotiation source in its configured order (a version
// that source names, then a 406 for a value it carries that selects no
// version), the rules in order, then the rollout split or the default.
// Requests carrying a path version ("/v2/users") get their own routes
// first, which strip the segment when the service does.
func (tr *translator) serviceRoutes(s *route.Service) []*routev3.Route {
	var out []*routev3.Route
	sources := s.Negotiation.Sources
	res := negotiate.NewResolver(s.VersionNames())
	if tr.kind == Envoy {
		if at := indexOf(sources, config.SourcePath); at >= 0 {
			out = append(out, tr.gated(s, tr.pathRoutes(s, res, sources[:at]))...)
			if tr.refusesPins(s) {
				out = append(out, tr.unpinnedPathRoutes(s)...)
			}
		}
	}
	for _, src := range sources {
		if src != config.SourcePath && !tr.pinsWithheld(s) {
			out = append(out, tr.gated(s, tr.sourceRoutes(s, res, src, "", ""))...)
		}
	}
	for i, r := range s.Rules {
		if tr.colourWithheld(r) {
			continue
		}
		if rt := tr.ruleRoute(s, i, r, ""); rt != nil {
			out = append(out, rt)
		}
	}
	if ro := s.Rollout; ro != nil {
		out = append(out, tr.forward(s.Name+"/rollout", tr.prefixMatch(s.PathPrefix), s,
			[]route.Arm{{Version: ro.To, Weight: ro.Weight}, {Version: ro.From, Weight: 100 - ro.Weight}}, ro.Sticky))
	} else {
		out = append(out, tr.pinRoute(s.Name+"/default", tr.prefixMatch(s.PathPrefix), s, s.Default, ""))
	}
	return out
}

// pathRoutes are the routes of requests whose path carries a version
// segment: for every version, the sources that come before the path (which
// win over it), then the path's own pin; a segment that selects no version
// answers 406.
func (tr *translator) pathRoutes(s *route.Service, res *negotiate.Resolver, before []string) []*routev3.Route {
	var out []*routev3.Route
	for i, v := range s.Versions {
		seg := pathSegRegex(res, i, v.Name)
		if seg == "" {
			continue
		}
		for _, src := range before {
			out = append(out, tr.sourceRoutes(s, res, src, seg, v.Name)...)
		}
		out = append(out, tr.pinRoute(s.Name+"/path/"+v.Name, segMatch(seg, s.PathPrefix), s, v, seg))
	}
	return append(out, tr.notAcceptable(s.Name+"/path/406", segMatch(`[vV][0-9]+(?:\.[0-9]+){0,2}`, s.PathPrefix), s))
}

// segMatch matches paths made of a version segment (a regex) followed by
// the service's prefix.
func segMatch(seg, prefix string) *routev3.RouteMatch {
	rest := prefix
	if rest == "/" {
		rest = ""
	}
	return &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_SafeRegex{SafeRegex: safeRegex(
		"/" + seg + regexp.QuoteMeta(rest) + "(?:/.*)?")}}
}

// sourceRoutes are one negotiation source's routes under the service's
// prefix (behind a path version segment when seg, a regex matching the
// spellings of version pathVersion, is set).
func (tr *translator) sourceRoutes(s *route.Service, res *negotiate.Resolver, src, seg, pathVersion string) []*routev3.Route {
	neg := &s.Negotiation
	base := func() *routev3.RouteMatch {
		if seg == "" {
			return tr.prefixMatch(s.PathPrefix)
		}
		return segMatch(seg, s.PathPrefix)
	}
	name := s.Name + "/" + src
	if seg != "" {
		name = s.Name + "/path/" + pathVersion + "/" + src
	}
	var out []*routev3.Route
	switch src {
	case config.SourceHeader:
		for i, v := range s.Versions {
			m := base()
			m.Headers = []*routev3.HeaderMatcher{headerRegex(neg.Header, anyOf(spellings(res, i, v.Name)))}
			out = append(out, tr.pinRoute(name+"/"+v.Name, m, s, v, seg))
		}
		m := base()
		m.Headers = []*routev3.HeaderMatcher{headerRegex(neg.Header, ".+")}
		out = append(out, tr.notAcceptable(name+"/406", m, s))
	case config.SourceAccept:
		if tr.kind == GRPC {
			return nil
		}
		for i, v := range s.Versions {
			m := base()
			m.Headers = []*routev3.HeaderMatcher{headerRegex("accept", acceptRegex(neg.AcceptVendor, res, i, v.Name))}
			out = append(out, tr.pinRoute(name+"/"+v.Name, m, s, v, seg))
		}
		m := base()
		m.Headers = []*routev3.HeaderMatcher{headerRegex("accept", acceptCarries(neg.AcceptVendor))}
		out = append(out, tr.notAcceptable(name+"/406", m, s))
	case config.SourceQuery:
		if tr.kind == GRPC {
			return nil // gRPC ignores routes with query matchers
		}
		for i, v := range s.Versions {
			m := base()
			m.QueryParameters = []*routev3.QueryParameterMatcher{queryMatch(neg.Query, &matcherv3.StringMatcher{
				MatchPattern: &matcherv3.StringMatcher_SafeRegex{SafeRegex: safeRegex(anyOf(spellings(res, i, v.Name)))}})}
			out = append(out, tr.pinRoute(name+"/"+v.Name, m, s, v, seg))
		}
		m := base()
		m.QueryParameters = []*routev3.QueryParameterMatcher{{Name: neg.Query,
			QueryParameterMatchSpecifier: &routev3.QueryParameterMatcher_PresentMatch{PresentMatch: true}}}
		out = append(out, tr.notAcceptable(name+"/406", m, s))
	}
	return out
}

// ruleRoute translates one rule, or returns nil when Envoy (or gRPC)
// cannot express one of its conditions (config.Service.Refusals warns). With seg (a regex of path
// version segments) set, the rule matches behind such a segment, which is
// stripped when the service strips it.
func (tr *translator) ruleRoute(s *route.Service, i int, r *route.Rule, seg string) *routev3.Route {
	if r.HasExpr() {
		return nil
	}
	headers, cookies, queries, host, methods, prefix := r.Conditions()
	if tr.kind == GRPC && len(queries) > 0 {
		return nil
	}
	m := tr.prefixMatch(s.PathPrefix)
	switch {
	case seg != "" && prefix != "":
		m = segRuleMatch(seg, prefix)
	case seg != "":
		m = segMatch(seg, s.PathPrefix)
	case prefix != "":
		m = &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: prefix}}
	}
	for _, h := range headers {
		m.Headers = append(m.Headers, headerExact(h[0], h[1]))
	}
	for _, c := range cookies {
		m.Headers = append(m.Headers, headerRegex("cookie", cookieRegex(c[0], c[1])))
	}
	for _, q := range queries {
		m.QueryParameters = append(m.QueryParameters, queryMatch(q[0], &matcherv3.StringMatcher{
			MatchPattern: &matcherv3.StringMatcher_Exact{Exact: q[1]}}))
	}
	if host != "" {
		m.Headers = append(m.Headers, headerRegex(":authority", "(?i)"+regexp.QuoteMeta(host)+"(:[0-9]+)?"))
	}
	if len(methods) > 0 {
		quoted := make([]string, len(methods))
		for j, x := range methods {
			quoted[j] = regexp.QuoteMeta(x)
		}
		m.Headers = append(m.Headers, headerRegex(":method", strings.Join(quoted, "|")))
	}
	name := s.Name + "/rule/" + r.Name
	if seg != "" {
		name = s.Name + "/path/unpinned/rule/" + r.Name
	}
	var rt *routev3.Route
	if r.Experiment != nil {
		rt = stripSeg(tr.forward(name, m, s, r.Experiment.Arms, r.Experiment.Sticky), s, seg)
	} else {
		rt = tr.pinRoute(name, m, s, r.Version, seg)
	}
	withRuleFault(rt, r)
	return rt
}

// prefixMatch matches a service's path prefix on segment boundaries, as
// route.Table does: "/users" matches /users and /users/1, not /usersx.
// gRPC clients do not know path_separated_prefix; their paths always have a
// method after the service, so "/users/" is the same there.
func (tr *translator) prefixMatch(p string) *routev3.RouteMatch {
	if p == "/" || p == "" {
		return &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}}
	}
	if tr.kind == GRPC {
		return &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: p + "/"}}
	}
	return &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_PathSeparatedPrefix{PathSeparatedPrefix: p}}
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}
