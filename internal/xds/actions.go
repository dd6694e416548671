package xds

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/turnout-gw/turnout/internal/httperr"
	"github.com/turnout-gw/turnout/internal/route"
)

// Headers Turnout adds, as the proxy does.
const (
	headerTurnoutVersion = "x-turnout-version" // request, to the upstream
	headerServedVersion  = "x-served-version"  // response, to the client
)

// pinRoute sends the requests m matches to version v, or answers them the
// way v's lifecycle says: 410 for a gone version, 308 to the successor for a
// redirect. seg matches the path version segment the request carried (""
// none): it is stripped when the service strips it and replaced on
// redirects.
func (tr *translator) pinRoute(name string, m *routev3.RouteMatch, s *route.Service, v *route.Version, seg string) *routev3.Route {
	switch {
	case v.Lifecycle == route.Gone:
		return direct(name, m, http.StatusGone, errorBody(http.StatusGone, "version "+v.Name+" of "+s.Name+" is gone"))
	case v.Lifecycle == route.Redirect && v.Successor != nil:
		rw := &matcherv3.RegexMatchAndSubstitute{Pattern: safeRegex(`^/`), Substitution: "/" + pathSegment(v.Successor) + "/"}
		if seg != "" {
			rw = &matcherv3.RegexMatchAndSubstitute{Pattern: safeRegex(`^/` + seg + `(/|$)`),
				Substitution: "/" + pathSegment(v.Successor) + `\1`}
		}
		return &routev3.Route{Name: name, Match: m, Action: &routev3.Route_Redirect{Redirect: &routev3.RedirectAction{
			ResponseCode:         routev3.RedirectAction_PERMANENT_REDIRECT,
			PathRewriteSpecifier: &routev3.RedirectAction_RegexRewrite{RegexRewrite: rw},
		}}}
	}
	return stripSeg(tr.forward(name, m, s, []route.Arm{{Version: v, Weight: 100}}, route.StickyKey{}), s, seg)
}

// forward routes to the arms' upstreams: one cluster, or weighted clusters
// at the finest resolution Envoy allows (weights in millionths, like
// route.Buckets), chosen by the hash of the sticky key when there is one.
// Each arm adds X-Turnout-Version upstream and X-Served-Version (and the
// lifecycle headers of a deprecated version) downstream. A proxyless
// gRPC client under a trust block splits without its sticky key, as the
// gateway splits an untrusted request whose key it stripped.
func (tr *translator) forward(name string, m *routev3.RouteMatch, s *route.Service, arms []route.Arm, sticky route.StickyKey) *routev3.Route {
	if tr.untrustedGRPC() {
		sticky = route.StickyKey{}
	}
	var live []route.Arm
	for _, a := range arms {
		if weightOf(a.Weight) > 0 {
			live = append(live, a)
		}
	}
	if len(live) == 0 {
		live = arms[len(arms)-1:]
	}
	act := &routev3.RouteAction{}
	r := &routev3.Route{Name: name, Match: m, Action: &routev3.Route_Route{Route: act}}
	var timeout time.Duration
	for _, a := range live {
		if u := tr.cfg.Upstreams[a.Version.Upstream]; u != nil && u.Timeout.D() > timeout {
			timeout = u.Timeout.D()
		}
	}
	if timeout > 0 {
		act.Timeout = durationpb.New(timeout)
	}
	if len(live) == 1 {
		v := live[0].Version
		act.ClusterSpecifier = &routev3.RouteAction_Cluster{Cluster: v.Upstream}
		r.RequestHeadersToAdd = []*corev3.HeaderValueOption{setHeader(headerTurnoutVersion, v.Name)}
		r.ResponseHeadersToAdd = versionHeaders(s, v)
		r.TypedPerFilterConfig = faultConfig(v.Fault)
	} else {
		wc := &routev3.WeightedCluster{}
		for _, a := range live {
			wc.Clusters = append(wc.Clusters, &routev3.WeightedCluster_ClusterWeight{
				Name:                 a.Version.Upstream,
				Weight:               wrapperspb.UInt32(weightOf(a.Weight)),
				RequestHeadersToAdd:  []*corev3.HeaderValueOption{setHeader(headerTurnoutVersion, a.Version.Name)},
				ResponseHeadersToAdd: versionHeaders(s, a.Version),
				TypedPerFilterConfig: faultConfig(a.Version.Fault),
			})
		}
		if hp := hashPolicy(sticky); hp != nil {
			act.HashPolicy = []*routev3.RouteAction_HashPolicy{hp}
			wc.RandomValueSpecifier = &routev3.WeightedCluster_UseHashPolicy{UseHashPolicy: wrapperspb.Bool(true)}
		}
		act.ClusterSpecifier = &routev3.RouteAction_WeightedClusters{WeightedClusters: wc}
	}
	if mp := s.Mirror; mp != nil && tr.kind == Envoy {
		to := mp.To
		if to != nil && (len(live) > 1 || live[0].Version != to) {
			act.RequestMirrorPolicies = []*routev3.RouteAction_RequestMirrorPolicy{{
				Cluster: to.Upstream,
				RuntimeFraction: &corev3.RuntimeFractionalPercent{DefaultValue: &typev3.FractionalPercent{
					Numerator: weightOf(mp.Percent), Denominator: typev3.FractionalPercent_MILLION,
				}},
			}}
		}
	}
	return r
}

// weightOf converts a percentage into millionths.
func weightOf(percent float64) uint32 {
	return uint32(math.Round(percent * float64(route.Buckets) / 100))
}

// hashPolicy hashes the sticky key ("header:X-User-ID", "cookie:uid",
// "query:user"); nil for a per-request split.
func hashPolicy(k route.StickyKey) *routev3.RouteAction_HashPolicy {
	kind, name, ok := strings.Cut(k.String(), ":")
	if !ok {
		return nil
	}
	switch kind {
	case "header":
		return &routev3.RouteAction_HashPolicy{PolicySpecifier: &routev3.RouteAction_HashPolicy_Header_{
			Header: &routev3.RouteAction_HashPolicy_Header{HeaderName: strings.ToLower(name)}}}
	case "cookie":
		return &routev3.RouteAction_HashPolicy{PolicySpecifier: &routev3.RouteAction_HashPolicy_Cookie_{
			Cookie: &routev3.RouteAction_HashPolicy_Cookie{Name: name}}}
	case "query":
		return &routev3.RouteAction_HashPolicy{PolicySpecifier: &routev3.RouteAction_HashPolicy_QueryParameter_{
			QueryParameter: &routev3.RouteAction_HashPolicy_QueryParameter{Name: name}}}
	}
	return nil
}

// versionHeaders are the response headers of an answer served by v:
// X-Served-Version and, for a deprecated version, Deprecation, Sunset and the
// successor Link (the successor's path under the service prefix: Envoy
// cannot rewrite the request path into it as Turnout does).
func versionHeaders(s *route.Service, v *route.Version) []*corev3.HeaderValueOption {
	out := []*corev3.HeaderValueOption{setHeader(headerServedVersion, v.Name)}
	if v.Lifecycle != route.Deprecated {
		return out
	}
	dep := "true"
	if !v.DeprecatedAt.IsZero() {
		dep = "@" + strconv.FormatInt(v.DeprecatedAt.Unix(), 10)
	}
	out = append(out, setHeader("deprecation", dep))
	if !v.Sunset.IsZero() {
		out = append(out, setHeader("sunset", v.Sunset.UTC().Format(http.TimeFormat)))
	}
	if v.Successor != nil {
		p := "/" + pathSegment(v.Successor)
		if s.PathPrefix != "/" {
			p += s.PathPrefix
		}
		out = append(out, &corev3.HeaderValueOption{Header: &corev3.HeaderValue{Key: "link", Value: "<" + p + `>; rel="successor-version"`},
			AppendAction: corev3.HeaderValueOption_APPEND_IF_EXISTS_OR_ADD})
	}
	return out
}

// pathSegment is a version's path segment: its name, with a leading 'v'
// when it has none (as route.Decision.SuccessorPath).
func pathSegment(v *route.Version) string {
	if strings.HasPrefix(v.Name, "v") || strings.HasPrefix(v.Name, "V") {
		return v.Name
	}
	return "v" + v.Name
}

// notAcceptable answers 406 with the proxy's body. Envoy cannot put the
// requested value in it: "requested" is empty.
func (tr *translator) notAcceptable(name string, m *routev3.RouteMatch, s *route.Service) *routev3.Route {
	return direct(name, m, http.StatusNotAcceptable, string(s.NotAcceptableBody("")))
}

// direct is a route Envoy answers itself with a JSON body.
func direct(name string, m *routev3.RouteMatch, status int, body string) *routev3.Route {
	return &routev3.Route{Name: name, Match: m,
		Action: &routev3.Route_DirectResponse{DirectResponse: &routev3.DirectResponseAction{
			Status: uint32(status),
			Body:   &corev3.DataSource{Specifier: &corev3.DataSource_InlineString{InlineString: body}},
		}},
		ResponseHeadersToAdd: []*corev3.HeaderValueOption{setHeader("content-type", "application/json")},
	}
}

// errorBody is httperr's JSON error body.
func errorBody(status int, msg string) string {
	b, _ := json.Marshal(httperr.Body{Error: msg, Status: status})
	return string(b) + "\n"
}

func setHeader(k, v string) *corev3.HeaderValueOption {
	return &corev3.HeaderValueOption{Header: &corev3.HeaderValue{Key: k, Value: v},
		AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD}
}
