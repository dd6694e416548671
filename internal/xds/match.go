package xds

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"

	"github.com/turnout-gw/turnout/internal/negotiate"
)

// spellings lists the values a client may send to select version idx
// (named name) by exact name or plain number: "v2", "2", "2.0", "v2.0.0"...
// Only values the service's resolver really resolves to that version are
// kept (a "2" that selects v2.1 is not a spelling of v2.0). Semver ranges
// ("^2.1") cannot be enumerated; Envoy answers them 406.
func spellings(res *negotiate.Resolver, idx int, name string) []string {
	cands := []string{name}
	bare := strings.TrimLeft(name, "vV")
	if v, err := semver.NewVersion(bare); err == nil && bare != "" && bare[0] >= '0' && bare[0] <= '9' && v.Prerelease() == "" {
		ma, mi, pa := strconv.FormatUint(v.Major(), 10), strconv.FormatUint(v.Minor(), 10), strconv.FormatUint(v.Patch(), 10)
		for _, n := range []string{ma, ma + "." + mi, ma + "." + mi + "." + pa} {
			cands = append(cands, n, "v"+n)
		}
	}
	var out []string
	seen := map[string]bool{}
	for _, c := range cands {
		lc := strings.ToLower(c)
		if seen[lc] {
			continue
		}
		if i, err := res.Resolve(c); err == nil && i == idx {
			seen[lc] = true
			out = append(out, c)
		}
	}
	return out
}

// pathSegRegex matches the spellings usable as a path segment ("/v2/...")
// case-insensitively, or is "" when the version has none.
func pathSegRegex(res *negotiate.Resolver, idx int, name string) string {
	var out []string
	for _, s := range spellings(res, idx, name) {
		if v, _, ok := negotiate.SplitPathVersion("/" + s); ok && v == s {
			out = append(out, regexp.QuoteMeta(s))
		}
	}
	if len(out) == 0 {
		return ""
	}
	return "(?i:" + strings.Join(out, "|") + ")"
}

// anyOf is a case-insensitive regex matching exactly one of values.
func anyOf(values []string) string {
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = regexp.QuoteMeta(v)
	}
	return "(?i)(?:" + strings.Join(q, "|") + ")"
}

// acceptRegex matches an Accept header that names version idx: a vendor
// type (application/vnd.example.v2+json) or a version= parameter. Quality
// values are not weighed: the first media range that names a version wins
// in Envoy where Turnout takes the highest q.
func acceptRegex(vendor string, res *negotiate.Resolver, idx int, name string) string {
	all := spellings(res, idx, name)
	var bare []string
	for _, s := range all {
		b := strings.TrimLeft(s, "vV")
		if i, err := res.Resolve(b); err == nil && i == idx && b != "" {
			bare = append(bare, b)
		}
	}
	param := `;\s*version="?` + strings.TrimPrefix(anyOf(all), "(?i)") + `"?`
	alt := param
	if vendor != "" && len(bare) > 0 {
		alt = regexp.QuoteMeta(vendor) + `\.v` + strings.TrimPrefix(anyOf(bare), "(?i)") + `(?:\+[^,;]*)?|` + param
	}
	return `(?i).*(?:` + alt + `)\s*(?:[;,].*)?`
}

// acceptCarries matches an Accept header that names some version.
func acceptCarries(vendor string) string {
	if vendor == "" {
		return `(?i).*;\s*version=.*`
	}
	return `(?i).*(?:` + regexp.QuoteMeta(vendor) + `\.v[0-9^~<>=*]|;\s*version=).*`
}

// cookieRegex matches a Cookie header carrying name=value (quoted or not).
func cookieRegex(name, value string) string {
	return `(?:.*;\s*)?` + regexp.QuoteMeta(name) + `="?` + regexp.QuoteMeta(value) + `"?(?:\s*;.*)?`
}

func safeRegex(re string) *matcherv3.RegexMatcher {
	return &matcherv3.RegexMatcher{Regex: re}
}

func headerRegex(name, re string) *routev3.HeaderMatcher {
	return &routev3.HeaderMatcher{Name: strings.ToLower(name), HeaderMatchSpecifier: &routev3.HeaderMatcher_StringMatch{
		StringMatch: &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_SafeRegex{SafeRegex: safeRegex(re)}},
	}}
}

func headerExact(name, value string) *routev3.HeaderMatcher {
	return &routev3.HeaderMatcher{Name: strings.ToLower(name), HeaderMatchSpecifier: &routev3.HeaderMatcher_StringMatch{
		StringMatch: &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: value}},
	}}
}

func queryMatch(name string, sm *matcherv3.StringMatcher) *routev3.QueryParameterMatcher {
	return &routev3.QueryParameterMatcher{Name: name,
		QueryParameterMatchSpecifier: &routev3.QueryParameterMatcher_StringMatch{StringMatch: sm}}
}
