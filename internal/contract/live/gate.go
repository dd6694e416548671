package live

import (
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/rollout"
)

// GateName is the name of the analysis check Gate adds.
const GateName = "contract_violation_rate"

// Gate returns the rollout analysis check max_contract_violation_rate: the
// share of a service's validated `to` answers that broke the `from`
// version's contract over the analysis window. Fewer validated answers than
// analysis.min_requests give no verdict (the rollout waits for traffic).
func (m *Manager) Gate() rollout.Gate { return gate{m} }

type gate struct{ m *Manager }

// Name implements rollout.Gate.
func (gate) Name() string { return GateName }

// Threshold implements rollout.Gate: analysis.max_contract_violation_rate,
// when set.
func (gate) Threshold(a *config.Analysis) (float64, bool) {
	if a.MaxContractViolationRate == nil {
		return 0, false
	}
	return *a.MaxContractViolationRate, true
}

// Evaluate implements rollout.Gate: the violation rate over the window (not
// before since) and the validated answers it rests on.
func (g gate) Evaluate(service string, window time.Duration, since time.Time) (float64, int64) {
	s := g.m.lookup(service)
	if s == nil || s.check == nil {
		return 0, 0
	}
	return s.res.rate(g.m.o.Now(), window, since)
}
