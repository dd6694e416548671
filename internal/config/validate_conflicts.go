package config

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// validateServiceConflicts reports two services that claim the same host
// (or both any host) with the same path_prefix: requests could not be
// routed between them. Each conflict is reported once, at the service
// written later. names are the service names, sorted.
func (c *Config) validateServiceConflicts(names []string) error {
	type written struct {
		name string
		s    *Service
		at   Pos
	}
	order := make([]written, 0, len(names))
	for _, name := range names {
		if s := c.Services[name]; s != nil && !s.IsQN() { // qn services have their own listeners
			order = append(order, written{name, s, matchPos(s)})
		}
	}
	slices.SortFunc(order, func(a, b written) int { // by position; names (unique) break ties
		return cmp.Or(cmp.Compare(a.at.Line, b.at.Line), cmp.Compare(a.at.Col, b.at.Col), strings.Compare(a.name, b.name))
	})
	type claim struct{ prefix, host string } // host "" is any host
	owner := make(map[claim]string, len(order))
	var col collector
	for _, w := range order {
		name, s := w.name, w.s
		hosts := s.Match.Hosts
		if len(hosts) == 0 {
			hosts = anyHostOnly
		}
		var reported map[string]bool
		for _, h := range hosts {
			h = strings.ToLower(h)
			k := claim{prefixOf(s), h}
			first, taken := owner[k]
			if !taken {
				owner[k] = name
				continue
			}
			if first == name || reported[first] {
				continue
			}
			if reported == nil {
				reported = map[string]bool{}
			}
			reported[first] = true
			what := "any host"
			if h != "" {
				what = fmt.Sprintf("host %q", h)
			}
			col.add(&Error{Pos: w.at, Msg: fmt.Sprintf(
				"%s.match: %s also matches %s with path_prefix %q; give one of them other hosts or another path_prefix",
				join("services", name), join("services", first), what, prefixOf(s))})
		}
	}
	return col.err()
}

// anyHostOnly is the host list of a service without hosts: any host.
var anyHostOnly = []string{""}

// prefixOf returns the path prefix a service matches, "/" by default.
func prefixOf(s *Service) string {
	if s.Match.PathPrefix == "" {
		return "/"
	}
	return s.Match.PathPrefix
}

// matchPos is where a service's match is written: its path_prefix, its
// match block, or its name.
func matchPos(s *Service) Pos {
	if s.Has("match") {
		return s.Match.PosOf("path_prefix")
	}
	return s.KeyPos("")
}

// listener is one address Turnout listens on.
type listener struct {
	path string // e.g. "admin.listen"
	meta *Meta
	addr string
}

// validateListeners reports two listeners on the same address (the
// top-level ones and those of qn services; names are the service names,
// sorted).
func (c *Config) validateListeners(names []string) error {
	ls := []listener{
		{"listen", &c.Meta, orDefault(c.Listen, DefaultListen)},
		{"admin.listen", &c.Admin.Meta, orDefault(c.Admin.Listen, DefaultAdminListen)},
	}
	if c.TLS != nil && c.TLS.Listen != "" {
		ls = append(ls, listener{"tls.listen", &c.TLS.Meta, c.TLS.Listen})
	}
	if c.XDS != nil && c.XDS.Listen != "" {
		ls = append(ls, listener{"xds.listen", &c.XDS.Meta, c.XDS.Listen})
	}
	for _, name := range names {
		if s := c.Services[name]; s.IsQN() && s.Listen != "" {
			ls = append(ls, listener{join("services", name) + ".listen", &s.Meta, s.Listen})
		}
	}
	var col collector
	for j := range ls {
		for i := 0; i < j; i++ {
			a, b := ls[i], ls[j]
			if !sameAddress(a.addr, b.addr) {
				continue
			}
			// Anchor at the later one unless only the earlier was written.
			at, other := b, a
			if !b.meta.Has("listen") && a.meta.Has("listen") {
				at, other = a, b
			}
			note := ""
			if !other.meta.Has("listen") {
				note = " (its default)"
			}
			col.add(&Error{Pos: at.meta.PosOf("listen"), Msg: fmt.Sprintf(
				"%s: %s is also the address of %s%s; each listener needs its own address",
				at.path, at.addr, other.path, note)})
			break
		}
	}
	return col.err()
}
