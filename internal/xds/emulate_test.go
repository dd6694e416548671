package xds

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/route"
)

// envoyRoute walks a route configuration the way Envoy does (virtual
// host by domain, first matching route, RE2 full matches) and returns the
// route r takes, nil for none (Envoy answers 404).
func envoyRoute(rc *routev3.RouteConfiguration, r *http.Request) *routev3.Route {
	host, _, _ := strings.Cut(r.Host, ":")
	var vh *routev3.VirtualHost
	best := -1
	for _, v := range rc.VirtualHosts {
		for _, d := range v.Domains {
			score := -1
			switch {
			case d == host:
				score = 1 << 20
			case strings.HasPrefix(d, "*.") && strings.HasSuffix(host, d[1:]):
				score = len(d)
			case d == "*":
				score = 0
			}
			if score > best {
				best, vh = score, v
			}
		}
	}
	if vh == nil {
		return nil
	}
	for _, rt := range vh.Routes {
		if routeMatches(rt.Match, r) {
			return rt
		}
	}
	return nil
}

// envoyOutcome says what a request gets from a route configuration (see
// envoyRoute): a version name, "split" for weighted clusters, or a status
// Envoy answers itself.
func envoyOutcome(rc *routev3.RouteConfiguration, r *http.Request) string {
	rt := envoyRoute(rc, r)
	if rt == nil {
		return "404"
	}
	switch a := rt.Action.(type) {
	case *routev3.Route_DirectResponse:
		return strconv.Itoa(int(a.DirectResponse.Status))
	case *routev3.Route_Redirect:
		return "308"
	case *routev3.Route_Route:
		if a.Route.GetWeightedClusters() != nil {
			return "split"
		}
		return rt.RequestHeadersToAdd[0].Header.Value
	}
	return "404"
}

func fullMatch(re, s string) bool { return regexp.MustCompile(`^(?:` + re + `)$`).MatchString(s) }

func stringMatches(sm *matcherv3.StringMatcher, v string) bool {
	if re := sm.GetSafeRegex(); re != nil {
		return fullMatch(re.Regex, v)
	}
	return v == sm.GetExact()
}

func routeMatches(m *routev3.RouteMatch, r *http.Request) bool {
	p := r.URL.Path
	switch {
	case m.GetSafeRegex() != nil:
		if !fullMatch(m.GetSafeRegex().Regex, p) {
			return false
		}
	case m.GetPathSeparatedPrefix() != "":
		if sp := m.GetPathSeparatedPrefix(); p != sp && !strings.HasPrefix(p, sp+"/") {
			return false
		}
	default:
		if !strings.HasPrefix(p, m.GetPrefix()) {
			return false
		}
	}
	for _, h := range m.Headers {
		var v string
		switch h.Name {
		case ":authority":
			v = r.Host
		case ":method":
			v = r.Method
		default:
			vs := r.Header.Values(h.Name)
			if len(vs) == 0 {
				return false
			}
			v = strings.Join(vs, ",")
		}
		if !stringMatches(h.GetStringMatch(), v) {
			return false
		}
	}
	q := r.URL.Query()
	for _, qm := range m.QueryParameters {
		if !q.Has(qm.Name) {
			return false
		}
		if !qm.GetPresentMatch() && !stringMatches(qm.GetStringMatch(), q.Get(qm.Name)) {
			return false
		}
	}
	return true
}

// turnoutOutcome is what route.Table.Decide gives, in envoyOutcome's terms.
func turnoutOutcome(t *route.Table, r *http.Request) string {
	d := t.Decide(r)
	switch {
	case d.Status == http.StatusBadRequest:
		return "406" // Envoy cannot tell malformed from unknown
	case d.Status != 0:
		return strconv.Itoa(d.Status)
	case d.Reason == route.ReasonRollout || d.Reason == route.ReasonExperiment:
		return "split"
	}
	return d.Version.Name
}

// TestEnvoyRoutesDecideLikeTurnout: for requests of every kind, the Envoy
// routes translated from each golden configuration lead where Decide does.
func TestEnvoyRoutesDecideLikeTurnout(t *testing.T) {
	type req struct {
		method, target, host string
		headers              []string
	}
	cases := map[string][]req{
		"basic.yaml": {
			{"GET", "/users/1", "", nil},
			{"GET", "/users/1", "", []string{"X-API-Version", "2"}},
			{"GET", "/users", "", []string{"X-API-Version", "v1"}},
			{"GET", "/users", "", []string{"X-API-Version", "1.0"}},
			{"GET", "/users", "", []string{"X-API-Version", "3"}},
			{"GET", "/users", "", []string{"Accept", "application/vnd.example.v2+json"}},
			{"GET", "/users", "", []string{"Accept", "application/json; version=1"}},
			{"GET", "/users", "", []string{"Accept", "text/html, application/vnd.example.v1.0+json;q=0.9"}},
			{"GET", "/users", "", []string{"Accept", "application/vnd.example.v9+json"}},
			{"GET", "/users", "", []string{"Accept", "application/json"}},
			{"GET", "/v2/users/1", "", nil},
			{"GET", "/v1/users", "", nil},
			{"GET", "/v3/users", "", nil},
			{"GET", "/v2/users/1", "", []string{"X-API-Version", "1"}},
			{"GET", "/users?version=2", "", nil},
			{"GET", "/users?version=7", "", nil},
			{"GET", "/users/1", "", []string{"X-Env", "canary"}},
			{"GET", "/users/1", "", []string{"X-Env", "canary", "X-API-Version", "1"}},
			{"GET", "/usersx", "", nil},
			{"GET", "/orders", "", nil},
		},
		"lifecycle.yaml": {
			{"GET", "/orders/1", "api.example.com", nil},
			{"GET", "/v1/orders", "api.example.com", nil},
			{"GET", "/v2/orders/7", "api.example.com", nil},
			{"GET", "/v3/orders/7", "api.example.com:8080", nil},
			{"GET", "/orders", "api.example.com", []string{"X-API-Version", "2"}},
			{"GET", "/orders", "api.example.com", []string{"X-API-Version", "3"}},
			{"GET", "/orders", "api.example.com", []string{"X-API-Version", "5"}},
			{"GET", "/tenants/a", "foo.example.com", nil},
			{"GET", "/tenants/a", "api.example.com", nil},
			{"GET", "/anything", "elsewhere.test", nil},
			{"GET", "/anything?version=1", "elsewhere.test", nil},
			{"GET", "/anything?version=2", "elsewhere.test", nil},
			{"GET", "/orders/1", "foo.example.com", nil},
		},
		"rules.yaml": {
			{"GET", "/cart", "", nil},
			{"GET", "/cart", "", []string{"Cookie", "a=1; beta=1"}},
			{"GET", "/cart", "", []string{"Cookie", `beta="1"`}},
			{"GET", "/cart", "", []string{"Cookie", "beta=10"}},
			{"GET", "/cart/debug/x?debug=true", "", nil},
			{"GET", "/cart/x?debug=true", "", nil},
			{"POST", "/cart", "m.example.com", []string{"Cookie", "beta=1"}},
			{"PUT", "/cart", "M.example.com:443", nil},
			{"GET", "/cart", "m.example.com", []string{"X-Test", "checkout"}},
			{"GET", "/cart", "", []string{"X-API-Version", "b"}},
		},
	}
	for file, reqs := range cases {
		cfg, err := config.Load("testdata/" + file)
		if err != nil {
			t.Fatal(err)
		}
		table, err := route.Compile(cfg)
		if err != nil {
			t.Fatal(err)
		}
		res, _ := Translate(table, Options{Kind: Envoy})
		for _, rq := range reqs {
			r := httptest.NewRequest(rq.method, rq.target, nil)
			if rq.host != "" {
				r.Host = rq.host
			}
			for i := 0; i < len(rq.headers); i += 2 {
				r.Header.Add(rq.headers[i], rq.headers[i+1])
			}
			name := file + " " + rq.method + " " + r.Host + rq.target + " " + strings.Join(rq.headers, "=")
			t.Run(name, func(t *testing.T) {
				want, got := turnoutOutcome(table, r), envoyOutcome(res.Routes[0], r)
				if got != want {
					t.Errorf("Envoy: %s, Turnout: %s", got, want)
				}
			})
		}
	}
}
