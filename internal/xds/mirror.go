package xds

import (
	"strings"

	"github.com/turnout-gw/turnout/internal/route"
)

// mirrorWarnings names what of a service's `mirror` the export cannot
// express, so that nothing is dropped silently: Envoy's request mirror
// policy copies every method and draws its share per request (no method
// list, no sticky key), and proxyless gRPC sends no copies at all. A
// mirror at percent 0 copies nothing anywhere and is not warned about.
func (tr *translator) mirrorWarnings(svcs []*route.Service) {
	if tr.cfg == nil {
		return
	}
	for _, s := range svcs {
		m, sc := s.Mirror, tr.cfg.Services[s.Name]
		if m == nil || m.To == nil || m.Percent <= 0 || sc == nil || sc.Mirror == nil {
			continue
		}
		mc := sc.Mirror
		if tr.kind == GRPC {
			tr.warn(sc.KeyPos("mirror"), "services.%s.mirror: proxyless gRPC sends no copies; its requests are not mirrored", s.Name)
			continue
		}
		tr.warn(mc.PosOf("methods"), "services.%s.mirror.methods: Envoy's request mirror policy copies every method, not only %s", s.Name, strings.Join(m.Methods, ", "))
		if m.Percent < 100 && s.Rollout != nil && s.Rollout.Sticky.String() != "" {
			tr.warn(mc.PosOf("percent"), "services.%s.mirror.percent: Envoy draws the mirrored %v %% per request, not by the rollout's sticky key %s", s.Name, m.Percent, s.Rollout.Sticky)
		}
	}
}
