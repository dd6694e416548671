package judge

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestMixtureLR: the mSPRT's ratio against values worked by hand.
func TestMixtureLR(t *testing.T) {
	// √(0.01/0.02)·exp(0.01·0.01/(2·0.01·0.02)) = 0.70711·e^0.25
	if got, want := mixtureLR(0.1, 0.01, 0.1), math.Sqrt(0.5)*math.Exp(0.25); math.Abs(got-want) > 1e-12 {
		t.Errorf("mixtureLR = %v, want %v", got, want)
	}
	if got := mixtureLR(0.1, 0, 0.1); got != 1 {
		t.Errorf("no variance: mixtureLR = %v, want 1", got)
	}
	if a, b := mixtureLR(0.05, 0.001, 0.05), mixtureLR(-0.05, 0.001, 0.05); a != b || a <= 1 {
		t.Errorf("two-sided mixture: %v and %v", a, b)
	}
}

func TestErrorRates(t *testing.T) {
	cfg := Config{MinSamples: 20}
	tests := []struct {
		name                   string
		nTo, eTo, nFrom, eFrom float64
		want                   Outcome
	}{
		{"too little traffic", 10, 5, 100, 1, Inconclusive},
		{"equal", 300, 6, 300, 6, NotWorse},
		{"no errors anywhere", 300, 0, 300, 0, NotWorse},
		{"5x worse", 300, 30, 300, 6, Worse},
		{"5x better", 300, 6, 300, 30, NotWorse},
		{"worse on little data: leaning", 200, 10, 200, 2, Inconclusive},
	}
	for _, tt := range tests {
		v := ErrorRates(cfg, tt.nTo, tt.eTo, tt.nFrom, tt.eFrom)
		if v.Outcome != tt.want {
			t.Errorf("%s: %v (%s), want %v", tt.name, v.Outcome, v.Why, tt.want)
		}
		if v.P < 0 || v.P > 1 || v.NTo != tt.nTo {
			t.Errorf("%s: p %v, n_to %v", tt.name, v.P, v.NTo)
		}
	}
	if v := ErrorRates(cfg, 300, 30, 300, 6); math.Abs(v.Effect-0.08) > 1e-12 || v.P > 0.01 {
		t.Errorf("effect %v p %v, want 0.08 and ≤ 0.01", v.Effect, v.P)
	}
}

// TestEqualBaseline: `from`'s counts are scaled to `to`'s sample size, so
// the same rates are judged on fewer samples: less certain.
func TestEqualBaseline(t *testing.T) {
	all := ErrorRates(Config{}, 200, 12, 2000, 40)
	eq := ErrorRates(Config{EqualBaseline: true}, 200, 12, 2000, 40)
	if eq.NFrom != 200 || all.NFrom != 2000 {
		t.Fatalf("n_from %v and %v, want 200 and 2000", eq.NFrom, all.NFrom)
	}
	if math.Abs(eq.Effect-all.Effect) > 1e-12 || eq.P <= all.P {
		t.Errorf("equal baseline: effect %v vs %v, p %v vs %v: want the same effect, a larger p", eq.Effect, all.Effect, eq.P, all.P)
	}
	lat := Latency(Config{EqualBaseline: true}, []uint64{0, 10, 10}, []uint64{0, 100, 100})
	if lat.NFrom != 20 {
		t.Errorf("latency n_from %v, want 20", lat.NFrom)
	}
}

func TestExceeds(t *testing.T) {
	cfg := Config{MinSamples: 20}
	if v := Exceeds(cfg, 1000, 100, 0.05); v.Outcome != Worse {
		t.Errorf("10%% against a 5%% ceiling: %v (%s)", v.Outcome, v.Why)
	}
	if v := Exceeds(cfg, 20, 2, 0.05); v.Outcome == Worse {
		t.Errorf("2 of 20 against 5%%: %v, want no failure on so little", v.Outcome)
	}
	if v := Exceeds(cfg, 1000, 20, 0.05); v.Outcome != NotWorse {
		t.Errorf("2%% against 5%%: %v", v.Outcome)
	}
	if v := Exceeds(cfg, 50, 1, 0); v.Outcome != Worse {
		t.Errorf("ceiling 0: %v", v.Outcome)
	}
}

// bucketed draws n samples of a lognormal latency scaled by f into 20
// buckets of width 0.25 on a log scale, and returns the histogram and the
// bucket of every sample.
func bucketed(rng *rand.Rand, n int, f float64) (hist []uint64, xs []int) {
	hist = make([]uint64, 20)
	for range n {
		b := int(math.Floor((math.Log(f) + 0.5*rng.NormFloat64() + 2.5) / 0.25))
		b = min(max(b, 0), 19)
		hist[b]++
		xs = append(xs, b)
	}
	return hist, xs
}

// TestRankSumMatchesPairs: U from the buckets equals U counted pair by
// pair, and the tie-corrected variance equals the permutation variance
// computed from the midranks of every sample.
func TestRankSumMatchesPairs(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		ha, xa := bucketed(rng, 1+rng.IntN(60), 1)
		hf, xf := bucketed(rng, 1+rng.IntN(60), 1.2)
		a, f := toFloat(ha), toFloat(hf)
		u, ties := rankSum(a, f)
		var pairs float64
		for _, x := range xa {
			for _, y := range xf {
				switch {
				case x > y:
					pairs++
				case x == y:
					pairs += 0.5
				}
			}
		}
		if u != pairs {
			t.Fatalf("U %v, pair count %v", u, pairs)
		}
		n1, n2 := float64(len(xa)), float64(len(xf))
		nn := n1 + n2
		all := slices.Sorted(slices.Values(append(slices.Clone(xa), xf...)))
		var ss float64 // Σ (midrank − (N+1)/2)²
		for i := 0; i < len(all); {
			j := i
			for j < len(all) && all[j] == all[i] {
				j++
			}
			mid := float64(i+j+1) / 2
			ss += float64(j-i) * (mid - (nn+1)/2) * (mid - (nn+1)/2)
			i = j
		}
		if nn < 2 {
			continue
		}
		perm := n1 * n2 / (nn * (nn - 1)) * ss
		formula := n1 * n2 / 12 * ((nn + 1) - ties/(nn*(nn-1)))
		if math.Abs(perm-formula) > 1e-6*max(1, perm) {
			t.Fatalf("variance: permutation %v, tie-corrected formula %v", perm, formula)
		}
	}
}

func toFloat(h []uint64) []float64 {
	out := make([]float64, len(h))
	for i, c := range h {
		out[i] = float64(c)
	}
	return out
}

func TestLatency(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	cfg := Config{MinSamples: 20}
	same1, _ := bucketed(rng, 500, 1)
	same2, _ := bucketed(rng, 500, 1)
	slow, _ := bucketed(rng, 500, 1.5)
	if v := Latency(cfg, same1, same2); v.Outcome == Worse {
		t.Errorf("same distribution: %v (%s)", v.Outcome, v.Why)
	}
	if v := Latency(cfg, slow, same1); v.Outcome != Worse || v.Effect <= 0 {
		t.Errorf("50%% slower: %v effect %v (%s)", v.Outcome, v.Effect, v.Why)
	}
	if v := Latency(cfg, same1, slow); v.Outcome != NotWorse || v.Effect >= 0 {
		t.Errorf("50%% faster: %v effect %v", v.Outcome, v.Effect)
	}
	if v := Latency(cfg, []uint64{5}, []uint64{500}); v.Outcome != Inconclusive {
		t.Errorf("5 requests: %v", v.Outcome)
	}
	// One straggler in a far bucket is dropped as an outlier.
	a := []uint64{0, 300, 0, 0, 0, 1}
	f := []uint64{0, 300, 0, 0, 0, 0}
	if v := Latency(cfg, a, f); v.NTo != 300 || v.Outcome != NotWorse {
		t.Errorf("outlier: n_to %v, %v", v.NTo, v.Outcome)
	}
}
