package stats

import (
	"math"
	"time"
)

// Histogram layout. Bucket 0 is the underflow bucket [0, histLow); buckets
// 1..histSteps cover [histLow, histHigh) on a log scale, each histGrowth times
// as wide as the one before; bucket nHist-1 is the overflow bucket
// [histHigh, ∞), whose quantiles are reported as histHigh.
const (
	histLow   = 50 * time.Microsecond
	histHigh  = 60 * time.Second
	histSteps = 46
	nHist     = histSteps + 2 // 48
	overflow  = nHist - 1
)

// histGrowth is the ratio between consecutive bucket bounds, (60s/50µs)^(1/46)
// ≈ 1.3557. A quantile read from a single bucket without interpolation would
// be off by at most that factor; linear interpolation inside the bucket keeps
// the error to a few percent for smooth distributions.
var histGrowth = math.Pow(float64(histHigh)/float64(histLow), 1/float64(histSteps))

// histUpper[i] is the exclusive upper bound, in nanoseconds, of bucket i for
// i < overflow. histUpper[0] == histLow and histUpper[overflow-1] == histHigh.
var histUpper = func() (u [overflow]int64) {
	for i := range u {
		u[i] = int64(math.Round(float64(histLow) * math.Pow(histGrowth, float64(i))))
	}
	u[0], u[overflow-1] = int64(histLow), int64(histHigh)
	return u
}()

// NumBuckets is the number of latency histogram buckets.
const NumBuckets = nHist

// Buckets are a latency histogram's counts, fastest bucket first: bucket 0
// holds latencies below 50 µs, bucket i (1 ≤ i ≤ 46) those in
// [BucketLower(i), BucketLower(i+1)), each about 1.356 times as wide as the
// one before, and the last one those of 60 s or more.
type Buckets [NumBuckets]uint64

// BucketLower returns the inclusive lower bound of bucket i.
func BucketLower(i int) time.Duration {
	lower, _ := histBounds(i)
	return time.Duration(lower)
}

// Above returns how many latencies of b lie in buckets entirely at or
// above d: a lower bound on the count of latencies ≥ d (the bucket that
// holds d is not counted).
func (b *Buckets) Above(d time.Duration) uint64 {
	var n uint64
	for i := NumBuckets - 1; i >= 0 && BucketLower(i) >= d; i-- {
		n += b[i]
	}
	return n
}

// histIndex returns the histogram bucket for a latency of ns nanoseconds.
func histIndex(ns int64) int {
	if ns < histUpper[0] {
		return 0
	}
	if ns >= int64(histHigh) {
		return overflow
	}
	// Smallest i in [1, overflow-1] with ns < histUpper[i].
	lo, hi := 1, overflow-1
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if ns < histUpper[mid] {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// histBounds returns the [lower, upper) bounds of bucket i in nanoseconds.
// The overflow bucket reports histHigh for both.
func histBounds(i int) (lower, upper int64) {
	switch {
	case i == 0:
		return 0, histUpper[0]
	case i >= overflow:
		return int64(histHigh), int64(histHigh)
	default:
		return histUpper[i-1], histUpper[i]
	}
}

// agg accumulates buckets for one query. It is meant to live on the stack.
type agg struct {
	requests, errors int64
	min, max         int64 // observed latency range; meaningful when min <= max
	hist             [nHist]uint64
}

func newAgg() agg { return agg{min: math.MaxInt64, max: math.MinInt64} }

// add adds o to a.
func (a *agg) add(o *agg) {
	a.requests += o.requests
	a.errors += o.errors
	a.min, a.max = min(a.min, o.min), max(a.max, o.max)
	for i, c := range o.hist {
		a.hist[i] += c
	}
}

// quantile returns the q-quantile (0 < q ≤ 1) of the histogram, or 0 when it
// is empty. The rank is located in a bucket and interpolated linearly between
// the bucket's bounds, narrowed to the observed [min, max]; values in the
// overflow bucket are reported as histHigh.
func (a *agg) quantile(q float64) time.Duration {
	var total uint64
	for _, c := range a.hist {
		total += c
	}
	if total == 0 {
		return 0
	}
	rank := q * float64(total)
	var cum uint64
	for i, c := range a.hist {
		if c == 0 {
			continue
		}
		if float64(cum+c) < rank && i != overflow {
			cum += c
			continue
		}
		if i == overflow {
			return histHigh
		}
		lower, upper := histBounds(i)
		if a.min <= a.max { // a torn concurrent read could leave them unset
			lower = max(lower, min(a.min, upper))
			upper = min(upper, max(a.max, lower))
		}
		frac := (rank - float64(cum)) / float64(c)
		frac = min(max(frac, 0), 1)
		return time.Duration(float64(lower) + frac*float64(upper-lower))
	}
	return histHigh // unreachable: rank ≤ total
}

// summary turns the aggregate into a Summary covering span.
func (a *agg) summary(span time.Duration) Summary {
	s := Summary{Totals: Totals{Requests: a.requests, Errors: a.errors, Span: max(span, 0)}}
	if a.requests <= 0 {
		return Summary{Totals: Totals{Span: s.Span}}
	}
	s.ErrorRate = float64(a.errors) / float64(a.requests)
	s.P50, s.P95, s.P99 = a.quantile(0.50), a.quantile(0.95), a.quantile(0.99)
	s.Rate = float64(a.requests) / max(s.Span, time.Second).Seconds()
	s.Latency = a.hist
	return s
}
