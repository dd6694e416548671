package xds

import (
	"regexp"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	extauthzv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_authz/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/route"
)

// Trust on Envoy. With a trust block, an Envoy node's listener runs
// Envoy's ext_authz filter first, calling Turnout's Authorization service
// (authz.go) on the xDS server through the bootstrap cluster
// xds.authz_cluster. Turnout applies its trust.Policy to the request Envoy
// describes and answers with what Envoy must change before it routes
// (clear_route_cache): the untrusted colour headers, cookies and query
// parameters removed, the signature header removed, and headerTrusted set
// to "1" for a trusted request or removed otherwise. The pin routes of a
// service that refuses pins require headerTrusted, so an untrusted pin
// (including Accept and a path segment, which are left on the request)
// falls through to the rules, rollout and default as in Turnout. The
// route configuration removes headerTrusted before forwarding. Envoy fails
// closed: when Turnout cannot be asked, the request is answered 503.

// headerTrusted is set by Turnout's ext_authz answer on trusted requests
// (and removed from the others, so a client cannot forge it).
const headerTrusted = "x-turnout-trusted"

// authzTimeout bounds one ext_authz call.
const authzTimeout = 250 * time.Millisecond

// anyPathSeg matches any path version segment (what the 406 path route
// answers when it names no version).
const anyPathSeg = `[vV][0-9]+(?:\.[0-9]+){0,2}`

// enforcesTrust reports whether the translation carries a trust block
// Envoy must apply.
func (tr *translator) enforcesTrust() bool {
	return tr.kind == Envoy && tr.cfg != nil && tr.cfg.Trust != nil
}

// Trust on proxyless gRPC. A proxyless client is the application itself:
// nothing between it and its routes can strip what it sends, so it is an
// untrusted client, always. With a trust block its routes carry no pin
// route of a service that refuses untrusted pins (pinsWithheld) and no
// rule that matches colour the policy strips from untrusted requests
// (colourWithheld), and its splits hash no sticky key (forward): such
// calls are routed by the rollout split or the default, as Turnout routes
// an untrusted request.

// untrustedGRPC reports whether the translation is for proxyless gRPC
// clients under a trust block.
func (tr *translator) untrustedGRPC() bool {
	return tr.kind == GRPC && tr.cfg != nil && tr.cfg.Trust != nil
}

// pinsWithheld reports whether s's pin routes are left out of the gRPC
// export: s refuses untrusted pins.
func (tr *translator) pinsWithheld(s *route.Service) bool {
	return tr.untrustedGRPC() && tr.cfg.Trust.RefusesPins(s.Name)
}

// colourWithheld reports whether rule r is left out of the gRPC export:
// it matches a header, cookie or query parameter, all of which the trust
// policy strips from untrusted requests (route.Table.Colours).
func (tr *translator) colourWithheld(r *route.Rule) bool {
	if !tr.untrustedGRPC() {
		return false
	}
	headers, cookies, queries, _, _, _ := r.Conditions()
	return len(headers)+len(cookies)+len(queries) > 0
}

// refusesPins reports whether s's pin routes must require a trusted
// request.
func (tr *translator) refusesPins(s *route.Service) bool {
	return tr.enforcesTrust() && tr.cfg.Trust.RefusesPins(s.Name)
}

// gated makes the pin routes rts of s require headerTrusted when s refuses
// untrusted pins.
func (tr *translator) gated(s *route.Service, rts []*routev3.Route) []*routev3.Route {
	if tr.refusesPins(s) {
		for _, rt := range rts {
			rt.Match.Headers = append(rt.Match.Headers, headerExact(headerTrusted, "1"))
		}
	}
	return rts
}

// unpinnedPathRoutes route an untrusted request whose path carries a
// version segment for a service that refuses pins: as route.Table does
// (DecideUnpinned), through the rules (matched against the path after the
// segment), the rollout and the default, the segment stripped when the
// service strips it.
func (tr *translator) unpinnedPathRoutes(s *route.Service) []*routev3.Route {
	var out []*routev3.Route
	for i, r := range s.Rules {
		if rt := tr.ruleRoute(s, i, r, anyPathSeg); rt != nil {
			out = append(out, rt)
		}
	}
	m := segMatch(anyPathSeg, s.PathPrefix)
	if ro := s.Rollout; ro != nil {
		rt := tr.forward(s.Name+"/path/unpinned/rollout", m, s,
			[]route.Arm{{Version: ro.To, Weight: ro.Weight}, {Version: ro.From, Weight: 100 - ro.Weight}}, ro.Sticky)
		return append(out, stripSeg(rt, s, anyPathSeg))
	}
	return append(out, tr.pinRoute(s.Name+"/path/unpinned/default", m, s, s.Default, anyPathSeg))
}

// segRuleMatch matches a rule's path prefix behind a version segment.
func segRuleMatch(seg, prefix string) *routev3.RouteMatch {
	return &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_SafeRegex{SafeRegex: safeRegex(
		"/" + seg + regexp.QuoteMeta(prefix) + ".*")}}
}

// stripSeg makes a forwarding route drop the version segment seg when s
// strips it.
func stripSeg(rt *routev3.Route, s *route.Service, seg string) *routev3.Route {
	if a := rt.GetRoute(); a != nil && seg != "" && s.StripPath {
		a.RegexRewrite = &matcherv3.RegexMatchAndSubstitute{Pattern: safeRegex(`^/` + seg + `(/|$)`), Substitution: "/"}
	}
	return rt
}

// authzFilter is Envoy's ext_authz filter calling Turnout through cluster:
// it fails closed (503) and clears the route cache so that the routes see
// the request as Turnout left it.
func authzFilter(cluster string) *hcmv3.HttpFilter {
	return &hcmv3.HttpFilter{
		Name: "envoy.filters.http.ext_authz",
		ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: mustAny(&extauthzv3.ExtAuthz{
			Services: &extauthzv3.ExtAuthz_GrpcService{GrpcService: &corev3.GrpcService{
				TargetSpecifier: &corev3.GrpcService_EnvoyGrpc_{EnvoyGrpc: &corev3.GrpcService_EnvoyGrpc{ClusterName: cluster}},
				Timeout:         durationpb.New(authzTimeout),
			}},
			TransportApiVersion: corev3.ApiVersion_V3,
			EncodeRawHeaders:    true, // repeated headers (two Cookie lines) as sent, not joined by ","
			FailureModeAllow:    false,
			ClearRouteCache:     true,
			StatusOnError:       &typev3.HttpStatus{Code: typev3.StatusCode_ServiceUnavailable},
		})},
	}
}

// authzCluster is the bootstrap cluster Envoy reaches Turnout through.
func authzCluster(c *config.Config) string {
	if c.XDS != nil && c.XDS.AuthzCluster != "" {
		return c.XDS.AuthzCluster
	}
	return config.DefaultAuthzCluster
}
