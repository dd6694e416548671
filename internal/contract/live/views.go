package live

import (
	"sort"
)

// Validation returns what validating the answers of a service's rollout's
// `to` found (the results its analysis reads), false when they are not
// validated.
func (m *Manager) Validation(service string) (Validation, bool) {
	s := m.lookup(service)
	if s == nil || s.gate == nil {
		return Validation{}, false
	}
	return s.view(s.gate), true
}

// Validations returns what validating each checked version's answers
// found, by version: the rollout's `to` and every adapted version with a
// document of its own; nil when nothing is validated.
func (m *Manager) Validations(service string) []Validation {
	s := m.lookup(service)
	if s == nil || len(s.checks) == 0 {
		return nil
	}
	out := make([]Validation, 0, len(s.checks))
	for _, c := range s.checks {
		out = append(out, s.view(c))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out
}

// view is check c's results as the API shows them.
func (s *service) view(c *check) Validation {
	v := c.res.view()
	v.Version, v.Document, v.ServedBy, v.Upstream, v.Gates = c.version, c.document, c.servedBy, c.upstream, c == s.gate
	if c == s.gate {
		v.From, v.To = c.from, c.version
	}
	v.ValidatePercent = s.percent
	return v
}

// Deprecations is the body of GET /api/v1/deprecations/{service}: what the
// versions' documents mark deprecated and who still uses it, the most
// recently seen first.
type Deprecations struct {
	Service   string `json:"service"`
	ClientKey string `json:"client_key,omitempty"`
	// Clients is how many clients are told apart, at most MaxClients;
	// OverflowUses were made by clients beyond them (client "(other)").
	Clients      int              `json:"clients"`
	MaxClients   int              `json:"max_clients"`
	OverflowUses uint64           `json:"overflow_uses"`
	Deprecated   []DeprecatedItem `json:"deprecated"`
	Uses         []Use            `json:"uses"`
}

// DeprecatedItem is an operation of a version's document that is
// deprecated or has deprecated parameters.
type DeprecatedItem struct {
	Version    string   `json:"version"`
	Operation  string   `json:"operation"`
	Deprecated bool     `json:"deprecated"`
	Parameters []string `json:"parameters,omitempty"`
}

// Deprecations returns a service's deprecated items and their use, false
// when no version's document marks anything deprecated.
func (m *Manager) Deprecations(service string) (Deprecations, bool) {
	s := m.lookup(service)
	if s == nil || len(s.deprecated) == 0 {
		return Deprecations{}, false
	}
	d := Deprecations{Service: service, ClientKey: s.client.String(), MaxClients: m.o.MaxClients, Deprecated: []DeprecatedItem{}}
	d.Uses, d.Clients, d.OverflowUses = s.use.list()
	for version, c := range s.deprecated {
		for _, op := range c.dep.candidates {
			it := DeprecatedItem{Version: version, Operation: op.label, Deprecated: op.deprecated}
			for _, p := range op.params {
				it.Parameters = append(it.Parameters, p.name)
			}
			d.Deprecated = append(d.Deprecated, it)
		}
	}
	sort.Slice(d.Deprecated, func(i, j int) bool {
		a, b := d.Deprecated[i], d.Deprecated[j]
		if a.Version != b.Version {
			return a.Version < b.Version
		}
		return a.Operation < b.Operation
	})
	return d, true
}
