package live

import (
	"github.com/getkin/kin-openapi/openapi3"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/contract"
)

// opMatcher names the operation of a request as one document declares it
// ("GET /users/{id}"), for the usage counts of every request. It is
// immutable and matching allocates nothing.
type opMatcher struct {
	byMethod map[string][]namedTemplate
	bases    []string
}

type namedTemplate struct {
	tmpl  template
	label string
}

// newOpMatcher returns the matcher of spec's operations, nil when it has
// none.
func newOpMatcher(spec *openapi3.T, bases []string) *opMatcher {
	if spec == nil || spec.Paths == nil {
		return nil
	}
	m := &opMatcher{byMethod: map[string][]namedTemplate{}, bases: bases}
	for _, p := range spec.Paths.InMatchingOrder() {
		tmpl := parseTemplate(p)
		for method := range spec.Paths.Value(p).Operations() {
			m.byMethod[method] = append(m.byMethod[method], namedTemplate{tmpl, operationLabel(method, p)})
		}
	}
	if len(m.byMethod) == 0 {
		return nil
	}
	return m
}

// match returns the label of the most specific operation of method whose
// template fits path (with or without a server's base path), "" when none.
func (m *opMatcher) match(method, path string) string {
	list := m.byMethod[method]
	for _, p := range [2]string{path, stripBase(m.bases, path)} {
		var best *namedTemplate
		for i := range list {
			if c := &list[i]; c.tmpl.match(p) && (best == nil || c.tmpl.moreSpecific(&best.tmpl)) {
				best = c
			}
		}
		if best != nil {
			return best.label
		}
		if len(m.bases) == 0 {
			break
		}
	}
	return ""
}

// updateOperations builds the operation matchers of every version with a
// document, reusing those of unchanged documents. The caller holds m.mu.
func (m *Manager) updateOperations(cfg *config.Config, docs Documents) {
	old := m.opsByDoc
	byDoc := map[*contract.Document]*opMatcher{}
	next := map[string]map[string]*opMatcher{}
	for _, name := range cfg.ServiceNames() {
		sc := cfg.Services[name]
		if sc.IsQN() {
			continue
		}
		for _, vname := range sc.VersionNames() {
			d := docs(name, vname)
			if d == nil || d.Spec == nil {
				continue
			}
			om, ok := byDoc[d]
			if !ok {
				if om, ok = old[d]; !ok {
					om = newOpMatcher(d.Spec, basePaths(d.Spec.Servers))
				}
				byDoc[d] = om
			}
			if om == nil {
				continue
			}
			if next[name] == nil {
				next[name] = map[string]*opMatcher{}
			}
			next[name][vname] = om
		}
	}
	m.opsByDoc = byDoc
	m.ops.Store(&next)
}

// Operation names a request's operation as the OpenAPI document of its
// version declares it ("GET /users/{id}"), "" when the version has no
// document or the document no such operation. It allocates nothing and is
// safe for concurrent use.
func (m *Manager) Operation(service, version, method, path string) string {
	p := m.ops.Load()
	if p == nil {
		return ""
	}
	om := (*p)[service][version]
	if om == nil {
		return ""
	}
	return om.match(method, path)
}
