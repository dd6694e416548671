package testutil

import "github.com/turnout-gw/turnout/internal/rollout"

// AnalysisCheck returns the check named name (e.g. contract_violation_rate)
// of a rollout's last analysis, false when there is none.
func AnalysisCheck(st *rollout.Status, name string) (rollout.Check, bool) {
	if st.LastAnalysis == nil {
		return rollout.Check{}, false
	}
	for _, c := range st.LastAnalysis.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return rollout.Check{}, false
}
