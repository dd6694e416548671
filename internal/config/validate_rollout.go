package config

import "fmt"

// Validate checks a rollout: from and to given and different, weight and
// steps as percentages with steps strictly increasing and a step_interval
// to advance them, a known on_failure, http(s) notify URLs and the analysis.
// Whether from and to are declared is checked by Service.Validate.
func (r *Rollout) Validate() error {
	var col collector
	if r.From == "" {
		col.add(r.missing("from", "required: the version traffic moves away from"))
	}
	if r.To == "" {
		col.add(r.missing("to", "required: the version traffic moves to"))
	}
	if r.From != "" && r.From == r.To {
		col.add(r.problem("to", "%q is also from; a rollout moves traffic between two different versions", r.To))
	}
	col.add(checkPercent(&r.Meta, "weight", r.Weight))
	col.add(checkSticky(&r.Meta, "sticky", r.Sticky))
	for i, step := range r.Steps {
		switch key := func() string { return fmt.Sprintf("steps[%d]", i) }; {
		case !(step > 0 && step <= 100):
			col.add(r.problem(key(), "%s is out of range; a step is a percentage more than 0 and at most 100", fmtNum(step)))
		case i > 0 && !(step > r.Steps[i-1]):
			col.add(r.problem(key(), "%s is not more than steps[%d] (%s); steps must strictly increase", fmtNum(step), i-1, fmtNum(r.Steps[i-1])))
		}
	}
	if len(r.Steps) > 0 && r.StepInterval <= 0 {
		e := r.missing("step_interval", "required when steps are set: how long each step lasts, e.g. 30s")
		if !r.Has("step_interval") {
			e.Pos = r.PosOf("steps")
		}
		col.add(e)
	}
	switch r.OnFailure {
	case "", "rollback", "pause":
	default:
		col.add(r.problem("on_failure", "%q is not an action; use rollback or pause", r.OnFailure))
	}
	for i, u := range r.Notify {
		if msg := checkHTTPURL(u, true); msg != "" {
			col.add(r.problem(fmt.Sprintf("notify[%d]", i), "%s", msg))
		}
	}
	col.add(nest("analysis", r.Analysis.Validate()))
	return col.err()
}

// Validate checks a rollout's analysis: a positive window and interval (the
// interval no longer than the window), rates from 0 to 1 and no negative
// counts, latencies or margin, a known source and judge, and a valid prometheus block
// (only with source: prometheus). Whether max_diff_rate has a mirror to
// measure is checked by Service.Validate; whether source: prometheus has a
// URL, by Config.Validate.
func (a *Analysis) Validate() error {
	var col collector
	if a.Window <= 0 {
		col.add(a.problem("window", "must be more than 0, e.g. 10s"))
	}
	switch {
	case a.Interval <= 0:
		col.add(a.problem("interval", "must be more than 0, e.g. 1s"))
	case a.Window > 0 && a.Interval > a.Window:
		if a.Has("interval") {
			col.add(a.problem("interval", "%s is longer than window (%s); evaluate at least once per window", a.Interval, a.Window))
		} else {
			col.add(a.problem("window", "%s is shorter than interval (%s, the default); make the window longer or set interval", a.Window, a.Interval))
		}
	}
	if a.MinRequests < 0 {
		col.add(a.problem("min_requests", "%d must not be negative", a.MinRequests))
	}
	col.add(checkRate(&a.Meta, "max_error_rate", a.MaxErrorRate))
	col.add(checkRate(&a.Meta, "max_diff_rate", a.MaxDiffRate))
	col.add(checkRate(&a.Meta, "max_contract_violation_rate", a.MaxContractViolationRate))
	col.add(nonNegativeDuration(&a.Meta, "max_latency_p95", a.MaxLatencyP95))
	col.add(nonNegativeDuration(&a.Meta, "max_latency_p99", a.MaxLatencyP99))
	if a.Margin != nil && !(*a.Margin >= 0 && *a.Margin < inf) {
		col.add(a.problem("margin", "%s must be a number of 0 or more", fmtNum(*a.Margin)))
	}
	switch a.Source {
	case "", AnalysisTurnout, AnalysisPrometheus:
	default:
		col.add(a.problem("source", "%q is not an analysis source; use turnout or prometheus", a.Source))
	}
	col.add(a.validateJudge())
	if a.Prometheus != nil {
		if a.Source != AnalysisPrometheus {
			col.add(a.keyProblem("prometheus", "applies only with source: prometheus (source is %s)", orDefault(a.Source, AnalysisTurnout)))
		}
		col.add(nest("prometheus", a.Prometheus.Validate()))
	}
	return col.err()
}

// Validate checks a mirror: a target version, a percentage, upper-case
// method names and the comparison. Whether to is declared is checked by
// Service.Validate.
func (m *Mirror) Validate() error {
	var col collector
	if m.To == "" {
		col.add(m.missing("to", "required: the version that receives the copies"))
	}
	col.add(checkPercent(&m.Meta, "percent", m.Percent))
	for i, meth := range m.Methods {
		if msg := checkMethod(meth); msg != "" {
			col.add(m.problem(fmt.Sprintf("methods[%d]", i), "%s", msg))
		}
	}
	col.add(nonNegative(&m.Meta, "max_body", int64(m.MaxBody)))
	col.add(nonNegativeDuration(&m.Meta, "timeout", m.Timeout))
	if m.Compare != nil {
		col.add(nest("compare", m.Compare.Validate()))
	}
	return col.err()
}

// Validate checks a contract block: a percentage, a body limit and a
// client key. Whether the versions have documents is checked by
// Service.Validate.
func (c *Contract) Validate() error {
	var col collector
	col.add(checkPercent(&c.Meta, "validate_percent", c.ValidatePercent))
	col.add(nonNegative(&c.Meta, "max_body", int64(c.MaxBody)))
	col.add(checkSticky(&c.Meta, "client_key", c.ClientKey))
	return col.err()
}

// Validate checks a comparison: ignore, unordered and tolerance name JSON
// Pointers, tolerances are 0 or more and headers are header names.
func (c *Compare) Validate() error {
	var col collector
	for _, list := range []struct {
		key   string
		items []string
	}{{"ignore", c.Ignore}, {"unordered", c.Unordered}} {
		for i, p := range list.items {
			if msg := checkPointer(p); msg != "" {
				col.add(c.problem(fmt.Sprintf("%s[%d]", list.key, i), "%s", msg))
			}
		}
	}
	keys := sortedKeys(c.Tolerance)
	for _, p := range keys {
		if msg := checkPointer(p); msg != "" {
			col.add(&Error{Pos: c.KeyPos("tolerance." + p), Msg: "tolerance: " + msg})
		} else if t := c.Tolerance[p]; !(t >= 0 && t < inf) {
			col.add(&Error{Pos: c.PosOf("tolerance." + p), Msg: fmt.Sprintf("tolerance: %s for %q must be a number of 0 or more", fmtNum(t), p)})
		}
	}
	for i, h := range c.Headers {
		if !isToken(h) {
			col.add(c.problem(fmt.Sprintf("headers[%d]", i), "%q is not a valid header name", h))
		}
	}
	return col.err()
}
