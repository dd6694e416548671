package config

// Analysis judges (analysis.judge).
const (
	// JudgeThreshold judges each check against its maximum over the
	// window: the default.
	JudgeThreshold = "threshold"
	// JudgeStatistical judges `to` against `from` with sequential tests on
	// everything since the step began (package judge).
	JudgeStatistical = "statistical"
)

// validateJudge checks judge, confidence and equal_baseline: a known
// judge; a confidence strictly between 0.5 and 1; confidence and
// equal_baseline only with judge: statistical, which also replaces
// relative and margin (it compares with `from` itself).
func (a *Analysis) validateJudge() error {
	var col collector
	switch a.Judge {
	case "", JudgeThreshold, JudgeStatistical:
	default:
		col.add(a.problem("judge", "%q is not a judge; use threshold or statistical", a.Judge))
		return col.err()
	}
	if a.Confidence != nil && !(*a.Confidence > 0.5 && *a.Confidence < 1) {
		col.add(a.problem("confidence", "%s is out of range; use a fraction above 0.5 and below 1 (0.99 = 99%%)", fmtNum(*a.Confidence)))
	}
	if a.Judge == JudgeStatistical {
		if a.Relative {
			col.add(a.keyProblem("relative", "does not combine with judge: statistical, which compares to with from itself; remove relative"))
		}
		if a.Margin != nil {
			col.add(a.keyProblem("margin", "does not combine with judge: statistical (its tests need no margin); remove margin"))
		}
		return col.err()
	}
	judge := orDefault(a.Judge, JudgeThreshold)
	if a.Has("confidence") {
		col.add(a.keyProblem("confidence", "applies only with judge: statistical (judge is %s)", judge))
	}
	if a.Has("equal_baseline") {
		col.add(a.keyProblem("equal_baseline", "applies only with judge: statistical (judge is %s)", judge))
	}
	return col.err()
}
