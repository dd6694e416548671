package rollout

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/stats"
)

// statYAML is baseYAML with the statistical judge; the thresholds stay as
// ceilings.
func statYAML(extra string) string {
	return strings.Replace(yamlWith("50", "[50, 100]", "rollback", "judge: statistical"), "max_latency_p95: 500ms", "max_latency_p95: 500ms\n        "+extra, 1)
}

// record sends one second of traffic to both versions: n requests each,
// the first failTo / failFrom failing, with latencies lat(i) and latFrom,
// then ticks.
func (h *harness) second(n, failTo, failFrom int, latTo, latFrom func(i int) time.Duration) {
	for i := range n {
		h.reg.Record(stats.Key{Service: "users", Version: "v2", Upstream: "u2"}, i < failTo, latTo(i))
		h.reg.Record(stats.Key{Service: "users", Version: "v1", Upstream: "u1"}, i < failFrom, latFrom(i))
	}
	h.clock.Advance(time.Second)
	h.eng.Tick()
}

// spread is a latency that varies with i around base: 20 distinct values.
func spread(base time.Duration) func(int) time.Duration {
	return func(i int) time.Duration { return base + time.Duration(i%20)*base/10 }
}

func (h *harness) check(name string) Check {
	h.t.Helper()
	a := h.status().LastAnalysis
	if a == nil {
		h.t.Fatal("no analysis yet")
	}
	for _, c := range a.Checks {
		if c.Name == name {
			return c
		}
	}
	h.t.Fatalf("no check %q in %+v", name, a.Checks)
	return Check{}
}

// TestStatisticalNoDataNeverPasses: with no traffic, or traffic to `to`
// only, the judge holds the step and says why.
func TestStatisticalNoDataNeverPasses(t *testing.T) {
	h := newHarness(t, statYAML(""))
	h.clock.Advance(40 * time.Second)
	h.eng.Tick()
	if st := h.status(); st.Weight != 50 || st.LastAnalysis == nil || st.LastAnalysis.Result != ResultWaiting {
		t.Fatalf("no traffic: weight %v, analysis %+v", st.Weight, st.LastAnalysis)
	}
	for range 40 {
		for range 20 {
			h.reg.Record(stats.Key{Service: "users", Version: "v2", Upstream: "u2"}, false, 10*time.Millisecond)
		}
		h.clock.Advance(time.Second)
		h.eng.Tick()
	}
	st := h.status()
	if st.Weight != 50 || st.LastAnalysis.Result != ResultWaiting || !strings.Contains(st.LastAnalysis.Reason, "too little data") {
		t.Fatalf("no baseline traffic: weight %v, %s: %s", st.Weight, st.LastAnalysis.Result, st.LastAnalysis.Reason)
	}
}

// TestStatisticalEqualPasses: equal versions pass and the step advances;
// every statistical check carries its test, p-value, effect and sizes.
func TestStatisticalEqualPasses(t *testing.T) {
	h := newHarness(t, statYAML(""))
	for range 31 {
		h.second(20, 1, 1, spread(10*time.Millisecond), spread(10*time.Millisecond))
	}
	if st := h.status(); st.State != Promoted {
		t.Fatalf("equal versions: %s at %v: %s", st.State, st.Weight, st.Reason)
	}
	for _, name := range []string{"error_rate (statistical)", "latency (statistical)", "error_rate (ceiling)", "latency_p95 (ceiling)"} {
		c := h.check(name)
		if !c.OK || c.Judgement == nil || c.Outcome != "pass" || c.NTo < 20 || c.Confidence != 0.99 {
			t.Errorf("%s: %+v %+v", name, c, c.Judgement)
		}
	}
}

func TestStatisticalErrorsFail(t *testing.T) {
	h := newHarness(t, strings.Replace(statYAML(""), "max_error_rate: 0.05", "", 1))
	var secs int
	for secs = 1; secs <= 30 && h.status().State == Progressing; secs++ {
		h.second(20, 3, 0, spread(10*time.Millisecond), spread(10*time.Millisecond))
	}
	st := h.status()
	if st.State != RolledBack {
		t.Fatalf("15%% vs 0%% errors: %s: %s", st.State, st.Reason)
	}
	c := h.check("error_rate (statistical)")
	if c.OK || c.Judgement == nil || c.Outcome != "worse" || c.PValue > 0.01 || c.Effect <= 0 || c.NTo < 20 || c.NFrom < 20 ||
		c.Baseline == nil || *c.Baseline != 0 || c.Test != testProportions {
		t.Fatalf("check %+v %+v", c, c.Judgement)
	}
	if !strings.Contains(st.Reason, "error_rate (statistical) 0.1500 vs 0.0000 in from") {
		t.Errorf("reason %q", st.Reason)
	}
	t.Logf("rolled back after %d s: %s", secs-1, st.Reason)
}

func TestStatisticalLatencyFails(t *testing.T) {
	h := newHarness(t, statYAML(""))
	for secs := 0; secs < 30 && h.status().State == Progressing; secs++ {
		h.second(20, 0, 0, spread(15*time.Millisecond), spread(10*time.Millisecond))
	}
	if st := h.status(); st.State != RolledBack || !strings.Contains(st.Reason, "latency (statistical)") {
		t.Fatalf("50%% slower: %s: %s", st.State, st.Reason)
	}
	if c := h.check("latency (statistical)"); c.Effect <= 0 || c.Test != testMannWhitney {
		t.Errorf("check %+v %+v", c, c.Judgement)
	}
}

// TestStatisticalCeiling: both versions equally bad pass the comparison
// but fail max_error_rate, an absolute ceiling, once `to` is significantly
// above it.
func TestStatisticalCeiling(t *testing.T) {
	h := newHarness(t, statYAML(""))
	for secs := 0; secs < 30 && h.status().State == Progressing; secs++ {
		h.second(20, 4, 4, spread(10*time.Millisecond), spread(10*time.Millisecond))
	}
	st := h.status()
	if st.State != RolledBack || !strings.Contains(st.Reason, "error_rate (ceiling)") || strings.Contains(st.Reason, "(statistical)") {
		t.Fatalf("20%% errors in both: %s: %s", st.State, st.Reason)
	}
}

// TestCheckJSON: a threshold check's JSON is what it was; a statistical
// one adds the test's numbers.
func TestCheckJSON(t *testing.T) {
	b, err := json.Marshal(Check{Name: "error_rate", Value: 0.1, Threshold: 0.05, Unit: "ratio"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"name":"error_rate","value":0.1,"threshold":0.05,"unit":"ratio","ok":false}`; got != want {
		t.Errorf("threshold check: %s, want %s", got, want)
	}
	c := Check{Name: "error_rate (statistical)", Judgement: &Judgement{Test: testProportions, Outcome: "worse", PValue: 0.001, LikelihoodRatio: 1000, NTo: 300, NFrom: 310}}
	if b, err = json.Marshal(c); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"p_value":0.001`, `"likelihood_ratio":1000`, `"n_to":300`, `"n_from":310`, `"verdict":"worse"`, `"effect":0`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("statistical check %s lacks %s", b, key)
		}
	}
}

// TestStatisticalEqualBaseline: with equal_baseline, `from`'s 10 times
// larger sample is scaled to `to`'s size in both tests.
func TestStatisticalEqualBaseline(t *testing.T) {
	h := newHarness(t, statYAML("equal_baseline: true"))
	for range 5 {
		for i := range 100 {
			if i < 10 {
				h.reg.Record(stats.Key{Service: "users", Version: "v2", Upstream: "u2"}, false, spread(10*time.Millisecond)(i))
			}
			h.reg.Record(stats.Key{Service: "users", Version: "v1", Upstream: "u1"}, false, spread(10*time.Millisecond)(i))
		}
		h.clock.Advance(time.Second)
		h.eng.Tick()
	}
	for _, name := range []string{"error_rate (statistical)", "latency (statistical)"} {
		c := h.check(name)
		if c.NTo != 50 || c.NFrom != 50 {
			t.Errorf("%s: n_to %v, n_from %v, want 50 and 50 (from: %d requests)", name, c.NTo, c.NFrom, h.status().LastAnalysis.From.Requests)
		}
	}
}
