package live

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/route"
)

// depMatcher recognises the deprecated operations and parameters of one
// document on live requests. Only the candidates (operations that are
// deprecated or have deprecated parameters) are tried against each request;
// the document's other paths are consulted only when a candidate matched,
// to let a more specific path (/items/latest over /items/{id}) win as
// OpenAPI routing requires. Matching allocates nothing.
type depMatcher struct {
	candidates []*depOp
	// paths are every path template of the document by method, for the
	// specificity check.
	paths map[string][]template
	bases []string
}

// depOp is an operation with something deprecated about it.
type depOp struct {
	method     string
	tmpl       template
	label      string // "GET /items/{id}"
	deprecated bool
	// header is the Deprecation header value: "@<unix>" from the
	// operation's x-deprecated-at (RFC 3339), else "true".
	header string
	params []depParam
}

// depParam is a deprecated parameter, read from the request the way the
// rollout's sticky keys are.
type depParam struct {
	name string // "query:q", "header:X-Old", "path:id"
	key  route.StickyKey
	path bool // a path parameter is used whenever its operation is
}

// template is a path template split into segments.
type template struct {
	path string
	segs []segment
}

// segment is a literal or a "{param}" segment (with an optional literal
// prefix and suffix, as in "{id}.json").
type segment struct {
	lit            string
	param          bool
	prefix, suffix string
}

// newDepMatcher returns the matcher of spec's deprecated items, nil when
// there are none.
func newDepMatcher(spec *openapi3.T, bases []string) *depMatcher {
	if spec.Paths == nil {
		return nil
	}
	m := &depMatcher{paths: map[string][]template{}, bases: bases}
	for _, p := range spec.Paths.InMatchingOrder() {
		item := spec.Paths.Value(p)
		tmpl := parseTemplate(p)
		for method, op := range item.Operations() {
			m.paths[method] = append(m.paths[method], tmpl)
			d := &depOp{method: method, tmpl: tmpl, label: operationLabel(method, p), deprecated: op.Deprecated, header: deprecationHeader(op)}
			for _, list := range []openapi3.Parameters{item.Parameters, op.Parameters} {
				for _, pr := range list {
					if pr.Value != nil && pr.Value.Deprecated {
						d.params = append(d.params, newDepParam(pr.Value))
					}
				}
			}
			if d.deprecated || len(d.params) > 0 {
				m.candidates = append(m.candidates, d)
			}
		}
	}
	if len(m.candidates) == 0 {
		return nil
	}
	sort.Slice(m.candidates, func(i, j int) bool { return m.candidates[i].label < m.candidates[j].label })
	return m
}

func newDepParam(p *openapi3.Parameter) depParam {
	dp := depParam{name: p.In + ":" + p.Name}
	switch p.In {
	case openapi3.ParameterInPath:
		dp.path = true
	case openapi3.ParameterInQuery, openapi3.ParameterInHeader, openapi3.ParameterInCookie:
		dp.key = route.NewStickyKey(config.StickyKey{Kind: p.In, Name: p.Name})
	}
	return dp
}

// deprecationHeader is the RFC 9745 value for an operation: its
// x-deprecated-at date when it has one, else "true" (as for versions
// without deprecated_at).
func deprecationHeader(op *openapi3.Operation) string {
	if v, ok := op.Extensions["x-deprecated-at"].(string); ok {
		for _, layout := range []string{time.RFC3339, time.DateOnly} {
			if t, err := time.Parse(layout, v); err == nil {
				return "@" + strconv.FormatInt(t.Unix(), 10)
			}
		}
	}
	return "true"
}

func parseTemplate(p string) template {
	t := template{path: p}
	rest := strings.TrimPrefix(p, "/")
	for {
		seg, more, found := strings.Cut(rest, "/")
		t.segs = append(t.segs, parseSegment(seg))
		if !found {
			return t
		}
		rest = more
	}
}

func parseSegment(s string) segment {
	open := strings.IndexByte(s, '{')
	close := strings.LastIndexByte(s, '}')
	if open < 0 || close < open {
		return segment{lit: s}
	}
	return segment{param: true, prefix: s[:open], suffix: s[close+1:]}
}

func (s *segment) matches(v string) bool {
	if !s.param {
		return v == s.lit
	}
	return len(v) > len(s.prefix)+len(s.suffix) && strings.HasPrefix(v, s.prefix) && strings.HasSuffix(v, s.suffix)
}

// match reports whether the path fits the template.
func (t *template) match(path string) bool {
	if path == "" || path[0] != '/' {
		return false
	}
	rest := path[1:]
	for i := range t.segs {
		seg, more, found := strings.Cut(rest, "/")
		if !t.segs[i].matches(seg) {
			return false
		}
		if found != (i < len(t.segs)-1) {
			return false
		}
		rest = more
	}
	return true
}

// moreSpecific reports whether t wins over o for a path both match: at the
// first segment where one is a literal and the other a parameter, the
// literal wins.
func (t *template) moreSpecific(o *template) bool {
	for i := range min(len(t.segs), len(o.segs)) {
		if a, b := t.segs[i].param, o.segs[i].param; a != b {
			return !a
		}
	}
	return false
}

// match returns the deprecated operation a request uses, nil when none.
func (m *depMatcher) match(r *http.Request) *depOp {
	path := r.URL.Path
	for _, p := range [2]string{path, stripBase(m.bases, path)} {
		for _, d := range m.candidates {
			if d.method == r.Method && d.tmpl.match(p) && !m.shadowed(d, p) {
				return d
			}
		}
		if len(m.bases) == 0 {
			break
		}
	}
	return nil
}

// shadowed reports whether a more specific path of the same method
// matches p.
func (m *depMatcher) shadowed(d *depOp, p string) bool {
	for i := range m.paths[d.method] {
		o := &m.paths[d.method][i]
		if o.path != d.tmpl.path && o.moreSpecific(&d.tmpl) && o.match(p) {
			return true
		}
	}
	return false
}

// used reports whether the request carries the parameter.
func (p *depParam) used(r *http.Request) bool {
	return p.path || p.key.Value(r) != ""
}
