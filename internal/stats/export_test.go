package stats

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestExportMergeIsExact splits a random stream of Records across k
// registries and checks that merging their exports, through the wire form,
// gives exactly what one registry that saw every Record answers: counts,
// histogram buckets, latency range, span and so quantiles, for short
// windows (the one-second ring), long ones (ten-second records, sealed or
// not) and windows cut by since.
func TestExportMergeIsExact(t *testing.T) {
	for seed := range uint64(12) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 17))
			k := 1 + int(seed%5)
			c := newFakeClock()
			all := NewRegistry(c.Now)
			members := make([]*Registry, k)
			for i := range members {
				members[i] = NewRegistry(c.Now)
			}
			services := []string{"shop", "users", "pay"}
			versions := []string{"v1", "v2", "v3"}
			checks := 0
			for step := range 400 {
				for range rng.IntN(40) {
					key := Key{services[rng.IntN(len(services))], versions[rng.IntN(2)], fmt.Sprint("u", rng.IntN(2))}
					failed := rng.IntN(10) == 0
					lat := randomLatency(rng)
					all.Record(key, failed, lat)
					members[rng.IntN(k)].Record(key, failed, lat)
				}
				// Mostly sub-second steps, sometimes long gaps (seconds leave
				// the ring and are sealed, or the series idles).
				switch rng.IntN(20) {
				case 0:
					c.Advance(time.Duration(rng.IntN(200)) * time.Second)
				default:
					c.Advance(time.Duration(rng.IntN(1500)) * time.Millisecond)
				}
				if step%10 != 9 {
					continue
				}
				qs := randomQueries(rng, services, versions, c.Now())
				merged := NewExport()
				for _, m := range members {
					b, err := m.Export(qs).MarshalBinary()
					if err != nil {
						t.Fatal(err)
					}
					e, err := DecodeExport(b)
					if err != nil {
						t.Fatal(err)
					}
					merged.Merge(e)
				}
				want := all.Export(qs)
				for _, q := range qs {
					asked := q.Versions
					if len(asked) == 0 {
						asked = versions
					}
					for _, v := range asked {
						checks++
						got, wantSum := merged.Summary(q.Service, v), all.VersionWindow(q.Service, v, q.Window, q.Since)
						if got != wantSum {
							t.Fatalf("step %d %s/%s window %v since %v: merged %+v, one registry %+v", step, q.Service, v, q.Window, q.Since, got, wantSum)
						}
						gw, gok := merged.Window(q.Service, v)
						ww, wok := want.Window(q.Service, v)
						if gok != wok || gok && *gw != *ww {
							t.Fatalf("step %d %s/%s: merged window %+v (%v), one registry %+v (%v)", step, q.Service, v, gw, gok, ww, wok)
						}
					}
				}
			}
			if checks == 0 {
				t.Fatal("nothing compared")
			}
		})
	}
}

// randomLatency mixes a lognormal body around 20 ms with underflow (<50µs)
// and overflow (≥60s) samples.
func randomLatency(rng *rand.Rand) time.Duration {
	switch rng.IntN(50) {
	case 0:
		return time.Duration(rng.IntN(50_000))
	case 1:
		return 60*time.Second + time.Duration(rng.IntN(1e9))
	}
	return time.Duration(20e6 * math.Exp(rng.NormFloat64()))
}

func randomQueries(rng *rand.Rand, services, versions []string, now time.Time) []Query {
	windows := []time.Duration{time.Second, 10 * time.Second, 90 * time.Second, 5 * time.Minute, 15 * time.Minute}
	var qs []Query
	for _, s := range services {
		q := Query{Service: s, Window: windows[rng.IntN(len(windows))]}
		if rng.IntN(3) == 0 {
			q.Since = now.Add(-time.Duration(rng.Int64N(int64(10 * time.Minute))))
		}
		if rng.IntN(2) == 0 {
			q.Versions = versions[:1+rng.IntN(len(versions))]
		}
		qs = append(qs, q)
	}
	return qs
}

func TestExportQueries(t *testing.T) {
	r, c := newTestRegistry()
	recordN(r, kA, 10, 1, time.Millisecond)
	recordN(r, kC, 5, 0, 2*time.Millisecond)
	c.Advance(5 * time.Second)
	e := r.Export([]Query{{Service: "shop", Window: 10 * time.Second}, {Service: "shop", Window: time.Second}, {Service: "none", Window: time.Minute}})
	if got := e.Keys(); !slices.Equal(got, []VersionKey{{"shop", "v1"}, {"shop", "v2"}}) {
		t.Fatalf("keys %v", got)
	}
	if s := e.Summary("shop", "v1"); s.Requests != 10 || s.Errors != 1 || s.Span != 5*time.Second {
		t.Fatalf("v1 %+v: the first query of a service answers", s)
	}
	// An idle window keeps the version, with its span; a version named
	// but never seen is left out.
	e = r.Export([]Query{{Service: "shop", Versions: []string{"v2", "v9"}, Window: 2 * time.Second}})
	if w, ok := e.Window("shop", "v2"); !ok || w.Requests() != 0 || w.Summary().Span != 2*time.Second {
		t.Fatalf("idle v2: %+v %v", w, ok)
	}
	if _, ok := e.Window("shop", "v9"); ok || e.Len() != 1 {
		t.Fatalf("unknown v9 exported: %v", e.Keys())
	}
}

func TestDecodeExportRefusesMalformed(t *testing.T) {
	r, _ := newTestRegistry()
	recordN(r, kA, 3, 1, time.Millisecond)
	recordN(r, kC, 3, 0, time.Millisecond)
	good, err := r.Export([]Query{{Service: "shop", Window: time.Minute}}).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeExport(good); err != nil {
		t.Fatalf("good payload refused: %v", err)
	}
	dup := append([]byte(nil), good...)
	// The second version renamed to the first: "v2" → "v1".
	i := len(dup) - 1
	for ; i >= 0 && !(dup[i] == '2' && dup[i-1] == 'v'); i-- {
	}
	dup[i] = '1'
	cases := map[string][]byte{
		"empty":         nil,
		"bad magic":     append([]byte("XX\x01"), good[3:]...),
		"truncated":     good[:len(good)-1],
		"trailing":      append(slices.Clone(good), 0),
		"version twice": dup,
		"huge count":    append([]byte(wireMagic), 0xff, 0xff, 0xff, 0xff, 0x0f),
	}
	for name, b := range cases {
		if _, err := DecodeExport(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err %v, want ErrMalformed", name, err)
		}
	}
}

// FuzzDecodeExport checks that no input panics or decodes to something that
// does not encode back to itself.
func FuzzDecodeExport(f *testing.F) {
	r, _ := newTestRegistry()
	recordN(r, kA, 30, 3, 3*time.Millisecond)
	recordN(r, kC, 3, 0, 90*time.Second)
	good, _ := r.Export([]Query{{Service: "shop", Window: time.Minute}}).MarshalBinary()
	f.Add(good)
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := DecodeExport(b)
		if err != nil {
			return
		}
		again, err := e.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		e2, err := DecodeExport(again)
		if err != nil {
			t.Fatalf("re-encoded export refused: %v", err)
		}
		for _, k := range e.Keys() {
			w1, _ := e.Window(k.Service, k.Version)
			w2, _ := e2.Window(k.Service, k.Version)
			if *w1 != *w2 {
				t.Fatalf("%v: %+v != %+v", k, w1, w2)
			}
		}
	})
}

func TestQueryTextRoundTrip(t *testing.T) {
	for _, q := range []Query{
		{Service: "shop", Window: 10 * time.Second},
		{Service: "shop", Versions: []string{"v1", "2.1.0"}, Window: 90 * time.Second, Since: time.Unix(1_700_000_000, 123)},
	} {
		got, err := ParseQuery(FormatQuery(q))
		if err != nil || got.Service != q.Service || got.Window != q.Window || !got.Since.Equal(q.Since) || !slices.Equal(got.Versions, q.Versions) {
			t.Errorf("%+v → %q → %+v, %v", q, FormatQuery(q), got, err)
		}
	}
}

// TestExportWhileRecording exports while Records run (for the race
// detector), then checks that the quiet registry exports what it counts.
func TestExportWhileRecording(t *testing.T) {
	r, c := newTestRegistry()
	qs := []Query{{Service: "shop", Window: 10 * time.Second}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 2000 {
			r.Record([]Key{kA, kB, kC}[i%3], i%7 == 0, time.Duration(i)*time.Microsecond)
		}
	}()
	for range 50 {
		if _, err := r.Export(qs).MarshalBinary(); err != nil {
			t.Fatal(err)
		}
	}
	<-done
	c.Advance(time.Second)
	e := r.Export(qs)
	if got, want := e.Summary("shop", "v1"), r.VersionWindow("shop", "v1", 10*time.Second, time.Time{}); got != want || got.Requests == 0 {
		t.Fatalf("export %+v, registry %+v", got, want)
	}
}
