package rollout

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/stats"
	"github.com/turnout-gw/turnout/internal/testutil/testclock"
)

var judgeSim = flag.Bool("judge.sim", false, "run the statistical judge's simulation with 1,000 rollouts per scenario (scripts/bench.sh judge)")

// simScenario is a pair of request streams with known answers: `to` and
// `from` at 10 requests/s each (weight 50), errors at the given rates and
// lognormal latencies (median 50 ms, σ 0.5: p95 114 ms), `to`'s scaled
// by slow.
type simScenario struct {
	name             string
	errTo, errFrom   float64
	slow             float64
	bad              bool   // `to` is worse: a rollback is a detection
	thresholdLatency string // the threshold judge's max_latency_p95, if any
}

var simScenarios = []simScenario{
	{"equal, 2% errors", 0.02, 0.02, 1, false, ""},
	{"errors 4% vs 2%", 0.04, 0.02, 1, true, ""},
	{"errors 10% vs 2%", 0.10, 0.02, 1, true, ""},
	{"p95 30% slower", 0.02, 0.02, 1.3, true, "130ms"},
}

// simOutcome counts the rollbacks of one judge over a scenario's runs.
type simOutcome struct {
	runs      int
	rollbacks int
	at        []time.Duration // when each rollback came
}

func (o simOutcome) rate() float64 { return float64(o.rollbacks) / float64(o.runs) }

func (o simOutcome) median() time.Duration {
	if len(o.at) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(o.at))
	return s[len(s)/2]
}

func (o simOutcome) String() string {
	if o.rollbacks == 0 {
		return fmt.Sprintf("0/%d rollbacks", o.runs)
	}
	return fmt.Sprintf("%d/%d rollbacks (%.1f %%), median after %v", o.rollbacks, o.runs, 100*o.rate(), o.median())
}

// simSpec returns the rollout of a judge: statistical (confidence 0.99,
// min_requests 20, no ceilings) or threshold (window 10s, min_requests
// 20, max_error_rate 0.05, and max_latency_p95 when the scenario sets it).
func simSpec(t testing.TB, judge string, sc simScenario) *config.Rollout {
	analysis := "judge: statistical\n        min_requests: 20"
	if judge == config.JudgeThreshold {
		analysis = "window: 10s\n        min_requests: 20\n        max_error_rate: 0.05"
		if sc.thresholdLatency != "" {
			analysis += "\n        max_latency_p95: " + sc.thresholdLatency
		}
	}
	text := fmt.Sprintf(`
upstreams: { u: { targets: [http://127.0.0.1:9001] } }
services:
  users:
    default: v1
    versions: { v1: { upstream: u }, v2: { upstream: u } }
    rollout:
      from: v1
      to: v2
      weight: 50
      steps: [50, 100]
      step_interval: 1h
      analysis:
        interval: 500ms
        %s
`, analysis)
	cfg, err := config.Parse("sim.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Services["users"].Rollout
}

// simulate runs sc's streams runs times, 120 s each, analysing every
// 500 ms with both judges on the same requests; a judge's first failure
// is its rollback. Run i draws from a PCG seeded with (seed, i).
func simulate(t testing.TB, sc simScenario, runs int, seed uint64) (statistical, threshold simOutcome) {
	specs := [2]*config.Rollout{simSpec(t, config.JudgeStatistical, sc), simSpec(t, config.JudgeThreshold, sc)}
	out := [2]*simOutcome{&statistical, &threshold}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range runs {
		rng := rand.New(rand.NewPCG(seed, uint64(i)))
		clock := testclock.New(start)
		reg := stats.NewRegistry(clock.Now)
		done := [2]bool{}
		record := func(version string, errRate, scale float64) {
			lat := time.Duration(50e6 * scale * math.Exp(0.5*rng.NormFloat64()))
			reg.Record(stats.Key{Service: "users", Version: version, Upstream: "u"}, rng.Float64() < errRate, lat)
		}
		for tick := 1; tick <= 240 && !(done[0] && done[1]); tick++ {
			for range 5 { // 10 requests/s per version
				record("v2", sc.errTo, sc.slow)
				record("v1", sc.errFrom, 1)
			}
			clock.Advance(500 * time.Millisecond)
			for j, spec := range specs {
				if done[j] {
					continue
				}
				if a := analyze(clock.Now(), "users", spec, reg, nil, start); a.Result == ResultFail {
					done[j] = true
					out[j].rollbacks++
					out[j].at = append(out[j].at, clock.Now().Sub(start))
				}
			}
		}
	}
	statistical.runs, threshold.runs = runs, runs
	return statistical, threshold
}

// TestJudgeSimulation runs simulated rollouts with known answers through
// the statistical judge and the fixed-threshold analysis: equal versions
// must rarely roll back (at most 1 % at 99 % confidence, evaluated every
// 500 ms for 120 s), `to` with 10 % errors against 2 % and `to` 30 %
// slower in at least 95 % of the runs. The short version runs 40
// rollouts per scenario; with -judge.sim (scripts/bench.sh judge), 1,000.
func TestJudgeSimulation(t *testing.T) {
	runs := 40
	if *judgeSim {
		runs = 1000
	}
	for k, sc := range simScenarios {
		st, th := simulate(t, sc, runs, uint64(k+1))
		t.Logf("%-18s statistical: %v; threshold: %v", sc.name, st, th)
		switch sc.name {
		case "equal, 2% errors":
			if st.rate() > 0.01 {
				t.Errorf("%s: the statistical judge rolled back %v, want at most 1 %%", sc.name, st)
			}
			if th.rate() < 0.5 {
				t.Errorf("%s: the threshold analysis rolled back only %v; the comparison assumes it is noisy", sc.name, th)
			}
		case "errors 10% vs 2%":
			if st.rate() < 0.95 {
				t.Errorf("%s: the statistical judge detected %v, want at least 95 %%", sc.name, st)
			}
		case "p95 30% slower":
			if st.rate() < 0.95 {
				t.Errorf("%s: the statistical judge detected %v, want at least 95 %%", sc.name, st)
			}
		}
	}
}
