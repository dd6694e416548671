package stats

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/testutil/testclock"
)

// fleetBench is a fleet of members, each with 10 seconds of traffic on
// every version of every service: 20 requests per second per version per
// member, lognormal latencies around 20 ms (σ = 1, some fifteen histogram
// buckets), 1 % errors.
type fleetBench struct {
	members []*Registry
	queries []Query
}

func newFleetBench(services, members int) *fleetBench {
	clock := testclock.New(t0)
	f := &fleetBench{}
	for range members {
		f.members = append(f.members, NewRegistry(clock.Now))
	}
	for s := range services {
		f.queries = append(f.queries, Query{Service: fmt.Sprintf("service-%04d", s), Versions: []string{"v2", "v1"}, Window: 10 * time.Second})
	}
	rng := rand.New(rand.NewPCG(7, 7))
	for range 10 {
		for range 20 {
			for _, r := range f.members {
				for _, q := range f.queries {
					for _, v := range q.Versions {
						lat := time.Duration(20e6 * math.Exp(rng.NormFloat64()))
						r.Record(Key{q.Service, v, v + "-pool"}, rng.IntN(100) == 0, lat)
					}
				}
			}
		}
		clock.Advance(time.Second)
	}
	return f
}

// BenchmarkFleetMerge is one analysis pull of 1,000 services × 2 versions
// from 10 members: each member exports and encodes its windows, the
// leader decodes the nine others' and merges them into its own, then reads
// every Summary (quantiles included). B/member is one member's payload;
// json-B/member what the same windows cost as compact JSON;
// decode-merge-one is the leader's cost per member.
func BenchmarkFleetMerge(b *testing.B) {
	const services, members = 1000, 10
	f := newFleetBench(services, members)
	payloads := make([][]byte, members)
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			payloads[0], _ = f.members[0].Export(f.queries).AppendBinary(payloads[0][:0])
		}
		b.ReportMetric(float64(len(payloads[0])), "B/member")
		b.ReportMetric(float64(jsonSize(f.members[0].Export(f.queries))), "json-B/member")
	})
	for i, r := range f.members {
		payloads[i], _ = r.Export(f.queries).AppendBinary(nil)
	}
	merge := func() {
		merged := f.members[0].Export(f.queries)
		for _, p := range payloads[1:] {
			e, err := DecodeExport(p)
			if err != nil {
				b.Fatal(err)
			}
			merged.Merge(e)
		}
		for _, q := range f.queries {
			for _, v := range q.Versions {
				if merged.Summary(q.Service, v).Requests == 0 {
					b.Fatal("no requests")
				}
			}
		}
	}
	b.Run("decode-merge-one", func(b *testing.B) {
		merged := f.members[0].Export(f.queries)
		b.ReportAllocs()
		for b.Loop() {
			e, err := DecodeExport(payloads[1])
			if err != nil {
				b.Fatal(err)
			}
			merged.Merge(e)
		}
	})
	b.Run("decode-merge", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			merge()
		}
	})
	b.Run("all", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for i, r := range f.members {
				payloads[i], _ = r.Export(f.queries).AppendBinary(payloads[i][:0])
			}
			merge()
		}
		total := 0
		for _, p := range payloads {
			total += len(p)
		}
		b.ReportMetric(float64(total)/members, "B/member")
	})
}

// jsonSize is the size of e as compact JSON: one object per version with
// its counts, range, span and the non-empty histogram buckets.
func jsonSize(e *Export) int {
	type win struct {
		S    string            `json:"s"`
		V    string            `json:"v"`
		N    int64             `json:"n"`
		E    int64             `json:"e"`
		Span int64             `json:"span"`
		Min  int64             `json:"min"`
		Max  int64             `json:"max"`
		H    map[string]uint64 `json:"h"`
	}
	var out []win
	for _, k := range e.Keys() {
		w := e.windows[k]
		h := map[string]uint64{}
		for i, c := range w.agg.hist {
			if c != 0 {
				h[fmt.Sprint(i)] = c
			}
		}
		out = append(out, win{k.Service, k.Version, w.agg.requests, w.agg.errors, int64(w.span), w.agg.min, w.agg.max, h})
	}
	b, _ := json.Marshal(out)
	return len(b)
}
