package live

import (
	"sort"
)

// Validation returns what validating a service's answers found, false when
// its answers are not validated.
func (m *Manager) Validation(service string) (Validation, bool) {
	s := m.lookup(service)
	if s == nil || s.check == nil {
		return Validation{}, false
	}
	v := s.res.view()
	v.From, v.To = s.from, s.to
	v.ValidatePercent = s.percent
	return v, true
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
