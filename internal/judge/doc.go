// Package judge decides whether a rollout's `to` version is worse than its
// `from` version, from the aggregate numbers Turnout keeps: request and
// error counts and latency histograms. It owns the statistics of the
// rollout engine's `analysis.judge: statistical`; the engine (package
// rollout) owns when it is asked and what a verdict does.
//
// The package is pure: every function is a computation on its arguments,
// keeps no state and is safe for concurrent use.
//
// # Tests
//
//   - Error rates: a two-proportion test on the difference of the two
//     rates, p_to − p_from, with the pooled variance
//     p̄(1−p̄)(1/n_to + 1/n_from) ([ErrorRates]).
//   - Latency: the Mann-Whitney U test on the two latency histograms
//     ([Latency]). Turnout keeps bucket counts, not samples, so the
//     requests of one bucket are ties: U is the rank sum over buckets,
//     U = Σ_b a_b·(F_b + f_b/2), where a_b and f_b are `to`'s and `from`'s
//     counts in bucket b and F_b is `from`'s count below it; its variance
//     under "same distribution" carries the exact tie correction,
//     n_to·n_from/12 · ((N+1) − Σ_b (t_b³−t_b)/(N(N−1))) with t_b = a_b+f_b.
//     The effect is Cliff's delta, P(to slower) − P(to faster), in [−1, 1].
//     Outliers: before ranking, every bucket above the one holding the
//     pooled 99.5th percentile is dropped from both versions (a handful
//     of stragglers should not decide a rollout; the absolute guards in
//     the engine still see them).
//   - Guards: a one-sample test that a rate lies above a ceiling
//     ([Exceeds]), with the variance at the ceiling, limit(1−limit)/n.
//
// # Sequential, always-valid decisions
//
// The engine asks every analysis interval (500 ms) on data accumulated
// since the step began. A fixed-sample test asked that often would cry
// wolf: at 99 % confidence and 240 looks, most equal rollouts would fail
// once. Each test is therefore a mixture sequential probability ratio
// test (mSPRT; Johari, Pekelis, Walsh, "Always valid inference", 2015):
// for an estimate θ̂ with variance V, approximately normal, and a normal
// mixture N(0, τ²) over the true effect, the likelihood ratio against
// "no difference" is
//
//	Λ = √(V/(V+τ²)) · exp(τ²θ̂² / (2V(V+τ²)))
//
// and, under "no difference", the probability that Λ ever reaches 1/α, at
// any of any number of looks, is at most α. The always-valid p-value is
// min(1, 1/Λ); a verdict is significant when p ≤ α = 1 − confidence. The
// mixture is two-sided, and only a significant "worse" fails, so a false
// failure has probability at most α per test (per step of a rollout).
//
// # Equal-size baseline
//
// With EqualBaseline, `to` is compared with a slice of `from` the size of
// `to`'s sample, as Kayenta recommends: with aggregate counts, `from`'s
// counts (errors, every histogram bucket) are multiplied by n_to/n_from
// when `from` has more requests — the expected counts of a random sample
// of n_to of its requests. The counts become fractional and are used as
// they are; the variances are those of the scaled sample size, so the
// test is as certain as n_to requests of `from` allow, no more.
package judge
