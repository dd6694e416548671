package xds

// contractWarnings name the services whose live contract validation
// (contract.validate_percent) xDS clients cannot take part in: their
// answers never pass through Turnout, so nothing validates them and the
// rollout gate's max_contract_violation_rate sees none of their traffic.
func (tr *translator) contractWarnings() {
	if tr.cfg == nil {
		return
	}
	for _, name := range sortedKeys(tr.cfg.Services) {
		s := tr.cfg.Services[name]
		if c := s.Contract; c != nil && c.ValidatePercent > 0 && !s.IsQN() {
			tr.warn(c.PosOf("validate_percent"), "services.%s.contract.validate_percent: answers served through Envoy or proxyless gRPC do not pass through Turnout and are not validated", name)
		}
	}
}
