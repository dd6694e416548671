package judge

import (
	"fmt"
	"math"
)

// DefaultConfidence is the confidence of a verdict when none is set.
const DefaultConfidence = 0.99

// Mixing scales (τ) of the mSPRT's normal mixture: the size of the
// effects the test is tuned to find fastest. Any τ keeps the false alarm
// bound; a τ near the true effect detects it soonest.
const (
	// ErrorTau is on the difference of error rates: 5 percentage points.
	ErrorTau = 0.05
	// LatencyTau is on P(to slower) − ½: 0.1, a shift that makes `to`
	// the slower of a random pair 60 % of the time.
	LatencyTau = 0.1
	// outlierQuantile is the pooled quantile above whose bucket latencies
	// are dropped.
	outlierQuantile = 0.995
)

// Config sets how a verdict is reached. The zero Config is usable:
// DefaultConfidence, at least one request on each side, no equal-size
// baseline.
type Config struct {
	// Confidence is 1 − α, in (0, 1); 0 means DefaultConfidence.
	Confidence float64
	// MinSamples is the fewest requests each version needs before any
	// verdict but Inconclusive (at least 1).
	MinSamples float64
	// EqualBaseline scales `from`'s counts down to `to`'s sample size.
	EqualBaseline bool
}

// Alpha returns 1 − confidence.
func (c Config) Alpha() float64 {
	if c.Confidence <= 0 || c.Confidence >= 1 {
		return 1 - DefaultConfidence
	}
	return 1 - c.Confidence
}

func (c Config) minSamples() float64 { return max(c.MinSamples, 1) }

// Outcome is what a verdict concludes.
type Outcome int

// Outcomes. Only Worse should fail a rollout; Inconclusive should hold it.
const (
	// Inconclusive: too little data, or `to` leans worse (Λ ≥ 1, the
	// data favour a regression) without reaching significance.
	Inconclusive Outcome = iota
	// NotWorse: enough data and no sign that `to` is worse.
	NotWorse
	// Worse: `to` is significantly worse than `from` (or its ceiling).
	Worse
)

func (o Outcome) String() string {
	switch o {
	case NotWorse:
		return "pass"
	case Worse:
		return "worse"
	}
	return "inconclusive"
}

// Verdict is the outcome of one test and the numbers behind it.
type Verdict struct {
	Outcome Outcome
	// LR is the mixture likelihood ratio Λ of "a difference" against
	// "none"; P is the always-valid p-value, min(1, 1/Λ).
	LR, P float64
	// Effect is the estimated difference, positive when `to` is worse:
	// p_to − p_from for error rates, Cliff's delta for latency, p − limit
	// for a ceiling.
	Effect float64
	// NTo and NFrom are the sample sizes compared: after outlier removal,
	// and NFrom scaled down with an equal-size baseline (0 for a ceiling).
	NTo, NFrom float64
	// Why says in words why the outcome is what it is.
	Why string
}

// mixtureLR returns the mSPRT's likelihood ratio for an estimate est with
// variance v under a N(0, tau²) mixture; 1 (no evidence) when v is 0.
func mixtureLR(est, v, tau float64) float64 {
	if v <= 0 || math.IsNaN(v) {
		return 1
	}
	t2 := tau * tau
	return math.Sqrt(v/(v+t2)) * math.Exp(t2*est*est/(2*v*(v+t2)))
}

// decide turns a likelihood ratio and the effect's sign into a verdict.
func decide(cfg Config, lr, effect, nTo, nFrom float64) Verdict {
	v := Verdict{LR: lr, P: min(1, 1/lr), Effect: effect, NTo: nTo, NFrom: nFrom}
	alpha := cfg.Alpha()
	switch {
	case v.P <= alpha && effect > 0:
		v.Outcome = Worse
		v.Why = fmt.Sprintf("worse: p %.2g ≤ %.2g (likelihood ratio %.3g)", v.P, alpha, lr)
	case v.P <= alpha:
		v.Outcome = NotWorse
		v.Why = fmt.Sprintf("better: p %.2g ≤ %.2g", v.P, alpha)
	case effect > 0 && lr >= 1:
		v.Outcome = Inconclusive
		v.Why = fmt.Sprintf("leaning worse: likelihood ratio %.3g, %.3g needed", lr, 1/alpha)
	default:
		v.Outcome = NotWorse
		v.Why = fmt.Sprintf("not worse: p %.2g", v.P)
	}
	return v
}

// tooLittle is the verdict before both versions have cfg's minimum.
func tooLittle(cfg Config, nTo, nFrom float64) Verdict {
	return Verdict{Outcome: Inconclusive, LR: 1, P: 1, NTo: nTo, NFrom: nFrom,
		Why: fmt.Sprintf("too little data: %.0f and %.0f requests, %.0f each needed", nTo, nFrom, cfg.minSamples())}
}

// ErrorRates compares the error rates of `to` (errTo of nTo requests) and
// `from` (errFrom of nFrom) with the two-proportion mSPRT.
func ErrorRates(cfg Config, nTo, errTo, nFrom, errFrom float64) Verdict {
	if cfg.EqualBaseline && nFrom > nTo && nTo > 0 {
		f := nTo / nFrom
		nFrom, errFrom = nTo, errFrom*f
	}
	if nTo < cfg.minSamples() || nFrom < cfg.minSamples() {
		return tooLittle(cfg, nTo, nFrom)
	}
	pTo, pFrom := errTo/nTo, errFrom/nFrom
	pool := (errTo + errFrom) / (nTo + nFrom)
	v := pool * (1 - pool) * (1/nTo + 1/nFrom)
	effect := pTo - pFrom
	return decide(cfg, mixtureLR(effect, v, ErrorTau), effect, nTo, nFrom)
}

// Exceeds tests whether a rate measured as k of n lies above limit (in
// [0, 1)) with the one-sample mSPRT. A limit of 0 is exceeded by any k >
// 0 with enough samples.
func Exceeds(cfg Config, n, k, limit float64) Verdict {
	if n < cfg.minSamples() {
		return tooLittle(cfg, n, 0)
	}
	effect := k/n - limit
	if limit <= 0 {
		if k > 0 {
			return Verdict{Outcome: Worse, LR: math.Inf(1), P: 0, Effect: effect, NTo: n, Why: "worse: any failure exceeds a ceiling of 0"}
		}
		return Verdict{Outcome: NotWorse, LR: 1, P: 1, NTo: n, Why: "not worse: none above a ceiling of 0"}
	}
	v := limit * (1 - limit) / n
	return decide(cfg, mixtureLR(effect, v, ErrorTau), effect, n, 0)
}
