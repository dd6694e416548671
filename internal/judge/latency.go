package judge

// Latency compares two latency histograms of the same bucket layout,
// fastest bucket first, with the Mann-Whitney U mSPRT (see the package
// documentation for the rank sum over buckets, the tie correction and the
// outlier rule). The effect is Cliff's delta: positive when `to` is the
// slower.
func Latency[C ~uint64 | ~float64](cfg Config, to, from []C) Verdict {
	n := min(len(to), len(from))
	a, f := make([]float64, n), make([]float64, n)
	var nTo, nFrom float64
	for i := range n {
		a[i], f[i] = float64(to[i]), float64(from[i])
		nTo += a[i]
		nFrom += f[i]
	}
	if cfg.EqualBaseline && nFrom > nTo && nTo > 0 {
		s := nTo / nFrom
		for i := range f {
			f[i] *= s
		}
		nFrom = nTo
	}
	if nTo < cfg.minSamples() || nFrom < cfg.minSamples() {
		return tooLittle(cfg, nTo, nFrom)
	}
	a, f, nTo, nFrom = trim(a, f, nTo+nFrom)
	u, ties := rankSum(a, f)
	nn := nTo + nFrom
	pairs := nTo * nFrom
	theta := u/pairs - 0.5 // P(to slower) + ½P(tie) − ½
	varU := pairs / 12 * ((nn + 1) - ties/(nn*(nn-1)))
	v := varU / (pairs * pairs)
	return decide(cfg, mixtureLR(theta, v, LatencyTau), 2*theta, nTo, nFrom)
}

// trim drops, from both histograms, the buckets above the one holding the
// pooled outlierQuantile, and returns them with their new totals.
func trim(a, f []float64, total float64) ([]float64, []float64, float64, float64) {
	rank := outlierQuantile * total
	var cum float64
	last := len(a) - 1
	for i := range a {
		cum += a[i] + f[i]
		if cum >= rank {
			last = i
			break
		}
	}
	a, f = a[:last+1], f[:last+1]
	var nTo, nFrom float64
	for i := range a {
		nTo += a[i]
		nFrom += f[i]
	}
	return a, f, nTo, nFrom
}

// rankSum returns U, the number of (to, from) pairs in which `to` is the
// slower, ties counting ½, and Σ(t³−t) over the buckets' tie groups.
func rankSum(a, f []float64) (u, ties float64) {
	var below float64 // from's requests in faster buckets
	for i := range a {
		u += a[i] * (below + f[i]/2)
		below += f[i]
		t := a[i] + f[i]
		ties += t*t*t - t
	}
	return u, ties
}
