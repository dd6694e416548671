package rollout

import (
	"fmt"
	"strings"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/stats"
)

// Result values of an analysis.
const (
	ResultPass    = "pass"
	ResultFail    = "fail"
	ResultWaiting = "waiting"
)

// Check is the outcome of one analysis check.
type Check struct {
	Name      string  `json:"name"`
	Value     float64 `json:"value"`
	Threshold float64 `json:"threshold"`
	// Baseline is the `from` version's value when the check is relative.
	Baseline *float64 `json:"baseline,omitempty"`
	Unit     string   `json:"unit,omitempty"` // "ratio" or "seconds"
	OK       bool     `json:"ok"`
	// The statistical judge's checks (analysis.judge: statistical) also
	// say how the verdict was reached; see statistical.go.
	*Judgement
}

// Analysis is one evaluation of a rollout's checks over its window.
type Analysis struct {
	At          time.Time     `json:"at"`
	Result      string        `json:"result"`
	Reason      string        `json:"reason"`
	Window      time.Duration `json:"window_ns"`
	Requests    int64         `json:"requests"`
	Errors      int64         `json:"errors"`
	MinRequests int           `json:"min_requests"`
	Checks      []Check       `json:"checks"`
	To          stats.Totals  `json:"to"`
	From        stats.Totals  `json:"from"`
}

// Gate is an extra analysis check fed by another feature (mirror diff rate,
// contract violations). Evaluate returns the measured rate and how many
// samples it rests on over the window since the given time.
type Gate interface {
	Name() string
	Threshold(a *config.Analysis) (float64, bool)
	Evaluate(service string, window time.Duration, since time.Time) (rate float64, samples int64)
}

// Stats is what analysis reads: per-version windows merged across upstreams.
type Stats interface {
	VersionWindow(service, version string, window time.Duration, since time.Time) stats.Summary
}

// RemoteStats is a Stats whose numbers come from another system (a
// Prometheus server) and may be unavailable. Analysis reads it through
// FetchWindow: an error makes the analysis wait, with the error as its
// reason, and never fails or rolls back a rollout. A FetchWindow that finds
// no data returns a zero Summary and no error: too little traffic.
//
// Remote reports whether service's numbers come from elsewhere: the engine
// analyses those rollouts apart, after the others (see Engine.Tick).
type RemoteStats interface {
	Stats
	FetchWindow(service, version string, window time.Duration, since time.Time) (stats.Summary, error)
	Remote(service string) bool
}

// Prefetcher is a RemoteStats that reads many windows best at once: a
// fleet's members are pulled once for all the services a tick analyses,
// not once per service. Tick passes it the windows of the rollouts it is
// about to analyse from it (their `to` and `from` versions) before it
// reads them with FetchWindow. Prefetch returns when they are read or
// failed; FetchWindow then answers from what it read.
type Prefetcher interface {
	Prefetch(queries []stats.Query)
}

// read returns the windows of `to` and `from`. From a RemoteStats both are
// fetched at once; an error about `from` matters only to analyses that
// compare with it (relative, or the statistical judge).
func read(service string, ro *config.Rollout, st Stats, win time.Duration, since time.Time) (to, from stats.Summary, err error) {
	rs, ok := st.(RemoteStats)
	if !ok {
		return st.VersionWindow(service, ro.To, win, since), st.VersionWindow(service, ro.From, win, since), nil
	}
	var ferr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		from, ferr = rs.FetchWindow(service, ro.From, win, since)
	}()
	to, err = rs.FetchWindow(service, ro.To, win, since)
	<-done
	if err == nil && ferr != nil && (ro.Analysis.Relative || ro.Analysis.Judge == config.JudgeStatistical) {
		err = ferr
	}
	return to, from, err
}

// analyze evaluates spec's checks for the `to` version of a rollout. It is a
// pure function of its inputs (and of what a RemoteStats answers).
func analyze(now time.Time, service string, ro *config.Rollout, st Stats, gates []Gate, since time.Time) Analysis {
	a := &ro.Analysis
	if a.Judge == config.JudgeStatistical {
		return analyzeStatistical(now, service, ro, st, gates, since)
	}
	win := a.Window.D()
	to, from, err := read(service, ro, st, win, since)
	res := Analysis{At: now, Window: win, Requests: to.Requests, Errors: to.Errors, MinRequests: a.MinRequests, To: to.Totals, From: from.Totals}
	if err != nil {
		res.Result = ResultWaiting
		res.Reason = "waiting for metrics: " + err.Error()
		return res
	}
	margin := 0.0
	if a.Margin != nil {
		margin = *a.Margin
	}
	relative := a.Relative && from.Requests >= int64(a.MinRequests) && from.Requests > 0

	if to.Requests < int64(a.MinRequests) {
		// Too little traffic is neither a pass nor a failure — unless the
		// failures already seen make the error rate exceed the threshold
		// whatever the remaining requests do.
		// (Relative analysis needs a measured window, so it never fails early.)
		if a.MaxErrorRate != nil && !a.Relative && a.MinRequests > 0 && float64(to.Errors) > *a.MaxErrorRate*float64(a.MinRequests) {
			rate := float64(to.Errors) / float64(a.MinRequests)
			res.Checks = append(res.Checks, Check{Name: "error_rate", Value: rate, Threshold: *a.MaxErrorRate, Unit: "ratio"})
			res.Result = ResultFail
			res.Reason = fmt.Sprintf("error_rate: %d of %d requests failed before reaching min_requests %d: at least %.3f > max %.3f",
				to.Errors, to.Requests, a.MinRequests, rate, *a.MaxErrorRate)
			return res
		}
		res.Result = ResultWaiting
		res.Reason = fmt.Sprintf("waiting for traffic: %d of %d requests to %s in the last %v", to.Requests, a.MinRequests, ro.To, win)
		return res
	}

	var failed []string
	add := func(c Check) {
		res.Checks = append(res.Checks, c)
		if !c.OK {
			failed = append(failed, describe(c))
		}
	}
	if a.MaxErrorRate != nil {
		c := Check{Name: "error_rate", Value: to.ErrorRate, Threshold: *a.MaxErrorRate, Unit: "ratio"}
		c.OK = to.ErrorRate <= c.Threshold
		if relative {
			b := from.ErrorRate
			c.Baseline = &b
			c.OK = c.OK || to.ErrorRate <= b+margin
		}
		add(c)
	}
	latency := func(name string, max config.Duration, v, base time.Duration) {
		if max <= 0 {
			return
		}
		c := Check{Name: name, Value: v.Seconds(), Threshold: max.D().Seconds(), Unit: "seconds"}
		c.OK = v <= max.D()
		if relative {
			b := base.Seconds()
			c.Baseline = &b
			c.OK = c.OK || v.Seconds() <= b*(1+margin)
		}
		add(c)
	}
	latency("latency_p95", a.MaxLatencyP95, to.P95, from.P95)
	latency("latency_p99", a.MaxLatencyP99, to.P99, from.P99)
	if !evalGates(&res, add, service, a, gates, win, since) {
		return res
	}
	if len(failed) > 0 {
		res.Result = ResultFail
		res.Reason = strings.Join(failed, "; ")
		return res
	}
	res.Result = ResultPass
	res.Reason = fmt.Sprintf("healthy: %d requests, error rate %.4f, p95 %v", to.Requests, to.ErrorRate, to.P95)
	return res
}

// evalGates adds the gates' checks with add, or makes res wait and
// reports false when a gate has too few samples.
func evalGates(res *Analysis, add func(Check), service string, a *config.Analysis, gates []Gate, win time.Duration, since time.Time) bool {
	for _, g := range gates {
		max, ok := g.Threshold(a)
		if !ok {
			continue
		}
		rate, n := g.Evaluate(service, win, since)
		if n < int64(a.MinRequests) {
			res.Result = ResultWaiting
			res.Reason = fmt.Sprintf("waiting for traffic: %s has %d of %d samples in the last %v", g.Name(), n, a.MinRequests, win)
			return false
		}
		add(Check{Name: g.Name(), Value: rate, Threshold: max, Unit: "ratio", OK: rate <= max})
	}
	return true
}

// describe names a failed check with its measured value and threshold.
func describe(c Check) string {
	var s string
	if c.Unit == "seconds" {
		s = fmt.Sprintf("%s %v > max %v", c.Name, secs(c.Value), secs(c.Threshold))
	} else {
		s = fmt.Sprintf("%s %.4f > max %.4f", c.Name, c.Value, c.Threshold)
	}
	if c.Baseline != nil {
		if c.Unit == "seconds" {
			s += fmt.Sprintf(" (from: %v)", secs(*c.Baseline))
		} else {
			s += fmt.Sprintf(" (from: %.4f)", *c.Baseline)
		}
	}
	return s
}

func secs(v float64) time.Duration {
	return time.Duration(v * float64(time.Second)).Round(time.Millisecond)
}
