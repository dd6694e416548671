package route

import (
	"cmp"
	"net/textproto"
	"slices"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/negotiate"
)

// Colours returns the request values the table's routing reads apart from
// version pins: the headers (canonical names), cookies and query
// parameters of rule conditions, experiment sticky keys and rollout sticky
// keys, over every service, deduplicated and sorted. What rule expressions
// read is not looked into. internal/trust strips these from untrusted
// requests.
func (t *Table) Colours() []config.StickyKey {
	seen := map[config.StickyKey]bool{}
	add := func(k StickyKey) {
		if ck := k.config(); !ck.IsZero() {
			seen[ck] = true
		}
	}
	for _, s := range t.services {
		for _, r := range s.Rules {
			for _, c := range r.headers {
				add(StickyKey{kind: stickyHeader, name: c.k})
			}
			for _, c := range r.cookies {
				add(StickyKey{kind: stickyCookie, name: c.k})
			}
			for _, c := range r.queries {
				add(StickyKey{kind: stickyQuery, name: c.k})
			}
			if r.Experiment != nil {
				add(r.Experiment.Sticky)
			}
		}
		if s.Rollout != nil {
			add(s.Rollout.Sticky)
		}
	}
	out := make([]config.StickyKey, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b config.StickyKey) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// PinKeys returns the header and query parameter the service reads a
// version pin from (when those sources are on). Accept and the path
// segment are not values that can be removed without changing the request;
// a refused pin is ignored by DecideUnpinned instead.
func (s *Service) PinKeys() []config.StickyKey {
	var out []config.StickyKey
	if s.negotiator == nil {
		return nil
	}
	if n := s.Negotiation; s.negotiator.HasSource(negotiate.SourceHeader) && n.Header != "" {
		out = append(out, config.StickyKey{Kind: "header", Name: textproto.CanonicalMIMEHeaderKey(n.Header)})
	}
	if n := s.Negotiation; s.negotiator.HasSource(negotiate.SourceQuery) && n.Query != "" {
		out = append(out, config.StickyKey{Kind: "query", Name: n.Query})
	}
	return out
}

// config returns the key in its configuration form.
func (k StickyKey) config() config.StickyKey {
	switch k.kind {
	case stickyHeader:
		return config.StickyKey{Kind: "header", Name: k.name}
	case stickyCookie:
		return config.StickyKey{Kind: "cookie", Name: k.name}
	case stickyQuery:
		return config.StickyKey{Kind: "query", Name: k.name}
	}
	return config.StickyKey{}
}
