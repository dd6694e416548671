package rollout

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/judge"
	"github.com/turnout-gw/turnout/internal/stats"
)

// Judgement is how the statistical judge reached a check's verdict: the
// test, its always-valid p-value and likelihood ratio, the effect and the
// sample sizes. It is a value, set once by analyzeStatistical.
type Judgement struct {
	Test string `json:"test"`
	// Outcome is pass, worse or inconclusive (the check holds the step).
	Outcome         string  `json:"verdict"`
	PValue          float64 `json:"p_value"`
	LikelihoodRatio float64 `json:"likelihood_ratio"`
	// Effect is positive when `to` is worse: the difference of error
	// rates, Cliff's delta of latencies, or the rate above a ceiling.
	Effect     float64 `json:"effect"`
	NTo        float64 `json:"n_to"`
	NFrom      float64 `json:"n_from"`
	Confidence float64 `json:"confidence"`
	Why        string  `json:"why"`
}

// Tests the statistical judge names in its checks.
const (
	testProportions = "two-proportion mSPRT"
	testMannWhitney = "Mann-Whitney U mSPRT"
	testCeiling     = "one-sample mSPRT against the maximum"
)

// judgeWindow is the window a rollout's analysis reads: the statistical
// judge's sequential tests read everything since the step began (up to
// the stats' reach, 15 minutes), the threshold judge its sliding window.
func judgeWindow(a *config.Analysis, since time.Time) time.Duration {
	if a.Judge == config.JudgeStatistical && !since.IsZero() {
		return stats.MaxHistory
	}
	return a.Window.D()
}

// analyzeStatistical judges `to` against `from` on the requests since the
// step began (package judge): error rates with a two-proportion test,
// latency histograms with Mann-Whitney U, both always-valid sequential
// tests at the configured confidence, so evaluating every interval does
// not raise the false alarm rate. Only a significant "worse" fails; an
// inconclusive test (too little data on either side, or `to` leaning
// worse) holds the step. max_error_rate, max_latency_p95 and
// max_latency_p99 are absolute ceilings then: they fail only when `to`
// is above them with the same confidence (for latency: significantly
// more than 5 % or 1 % of its requests at or above the maximum).
func analyzeStatistical(now time.Time, service string, ro *config.Rollout, st Stats, gates []Gate, since time.Time) Analysis {
	a := &ro.Analysis
	win := judgeWindow(a, since)
	to, from, err := read(service, ro, st, win, since)
	if !since.IsZero() {
		win = min(win, max(now.Sub(since), 0))
	}
	res := Analysis{At: now, Window: win, Requests: to.Requests, Errors: to.Errors, MinRequests: a.MinRequests, To: to.Totals, From: from.Totals}
	if err != nil {
		res.Result, res.Reason = ResultWaiting, "waiting for metrics: "+err.Error()
		return res
	}
	cfg := judge.Config{MinSamples: float64(max(a.MinRequests, 1)), EqualBaseline: a.EqualBaseline}
	if a.Confidence != nil {
		cfg.Confidence = *a.Confidence
	}
	var worse, held []string
	add := func(c Check) {
		res.Checks = append(res.Checks, c)
		switch {
		case c.Judgement == nil && !c.OK:
			worse = append(worse, describe(c))
		case c.Judgement == nil:
		case c.Outcome == judge.Worse.String():
			worse = append(worse, explain(c))
		case c.Outcome == judge.Inconclusive.String():
			held = append(held, c.Name+": "+c.Why)
		}
	}
	fromRate, fromP95 := from.ErrorRate, from.P95.Seconds()
	add(judged(Check{Name: "error_rate (statistical)", Value: to.ErrorRate, Baseline: &fromRate, Unit: "ratio"}, testProportions, cfg,
		judge.ErrorRates(cfg, float64(to.Requests), float64(to.Errors), float64(from.Requests), float64(from.Errors))))
	if to.Latency != (stats.Buckets{}) || from.Latency != (stats.Buckets{}) {
		// A source without histograms (Prometheus) has no latency test.
		add(judged(Check{Name: "latency (statistical)", Value: to.P95.Seconds(), Baseline: &fromP95, Unit: "seconds"}, testMannWhitney, cfg,
			judge.Latency(cfg, to.Latency[:], from.Latency[:])))
	}
	if a.MaxErrorRate != nil {
		add(judged(Check{Name: "error_rate (ceiling)", Value: to.ErrorRate, Unit: "ratio"}, testCeiling, cfg,
			judge.Exceeds(cfg, float64(to.Requests), float64(to.Errors), *a.MaxErrorRate)).withThreshold(*a.MaxErrorRate))
	}
	ceiling := func(name string, limit config.Duration, v time.Duration, share float64) {
		switch {
		case limit <= 0:
		case to.Latency == (stats.Buckets{}): // no histogram: the quantile itself
			add(Check{Name: name, Value: v.Seconds(), Threshold: limit.D().Seconds(), Unit: "seconds", OK: v <= limit.D()})
		default:
			above := float64(to.Latency.Above(limit.D()))
			add(judged(Check{Name: name + " (ceiling)", Value: v.Seconds(), Unit: "seconds"}, testCeiling, cfg,
				judge.Exceeds(cfg, float64(to.Requests), above, share)).withThreshold(limit.D().Seconds()))
		}
	}
	ceiling("latency_p95", a.MaxLatencyP95, to.P95, 0.05)
	ceiling("latency_p99", a.MaxLatencyP99, to.P99, 0.01)
	if !evalGates(&res, add, service, a, gates, a.Window.D(), since) {
		return res
	}
	switch {
	case len(worse) > 0:
		res.Result, res.Reason = ResultFail, strings.Join(worse, "; ")
	case len(held) > 0:
		res.Result, res.Reason = ResultWaiting, "inconclusive: "+strings.Join(held, "; ")
	default:
		res.Result = ResultPass
		res.Reason = fmt.Sprintf("not worse than %s: %d vs %d requests since the step began, error rate %.4f vs %.4f, p95 %v vs %v",
			ro.From, to.Requests, from.Requests, to.ErrorRate, from.ErrorRate, to.P95, from.P95)
	}
	return res
}

// judged fills c from a verdict: OK unless worse, the threshold the
// p-value is compared with (1 − confidence), and the Judgement.
func judged(c Check, test string, cfg judge.Config, v judge.Verdict) Check {
	c.OK = v.Outcome != judge.Worse
	c.Threshold = cfg.Alpha()
	c.Judgement = &Judgement{Test: test, Outcome: v.Outcome.String(), PValue: v.P,
		LikelihoodRatio: min(v.LR, math.MaxFloat64), Effect: v.Effect, NTo: v.NTo, NFrom: v.NFrom,
		Confidence: 1 - cfg.Alpha(), Why: v.Why}
	return c
}

// withThreshold reports the maximum a ceiling check compares with.
func (c Check) withThreshold(max float64) Check {
	c.Threshold = max
	return c
}

// explain says why a statistical check failed, with its numbers.
func explain(c Check) string {
	j := c.Judgement
	val := fmt.Sprintf("%.4f", c.Value)
	if c.Unit == "seconds" {
		val = secs(c.Value).String()
	}
	s := c.Name + " " + val
	switch {
	case c.Baseline != nil && c.Unit == "seconds":
		s += fmt.Sprintf(" vs %v in from", secs(*c.Baseline))
	case c.Baseline != nil:
		s += fmt.Sprintf(" vs %.4f in from", *c.Baseline)
	case c.Unit == "seconds":
		s += fmt.Sprintf(" (max %v)", secs(c.Threshold))
	default:
		s += fmt.Sprintf(" (max %.4f)", c.Threshold)
	}
	n := fmt.Sprintf("%.0f vs %.0f requests", j.NTo, j.NFrom)
	if c.Baseline == nil {
		n = fmt.Sprintf("%.0f requests", j.NTo)
	}
	return s + fmt.Sprintf(": %s, effect %+.4f, %s (%s)", j.Why, j.Effect, n, j.Test)
}
