package mirror

import (
	"strings"
	"sync/atomic"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/mirror/compare"
	"github.com/turnout-gw/turnout/internal/pipeline"
	"github.com/turnout-gw/turnout/internal/rollout"
)

// Caps that keep one service's results bounded whatever its traffic.
const (
	// MaxEndpoints is how many endpoints a service keeps apart; later ones
	// are counted together as OtherEndpoint.
	MaxEndpoints  = 200
	OtherEndpoint = "other"
	// MaxPaths is how many differing paths an endpoint counts apart; later
	// ones are counted together as OtherPath.
	MaxPaths  = 100
	OtherPath = "(other)"
)

// results are one service's mirror outcomes: the lane of its copies in
// the pipeline (dropped, pending), tooLarge counted on the request path,
// and the comparisons' tally, diff window and samples, counted by workers.
type results struct {
	pipeline.Lane[*tap]
	tooLarge atomic.Uint64
	*pipeline.Results[Sample, tally]
}

// tally counts a service's copies; its Results' lock guards it.
type tally struct {
	sent, compared, match, diff, errs, noisy uint64
	lastError                                string
	endpoints                                map[string]*endpointStats
}

// endpointStats are one endpoint's outcomes.
type endpointStats struct {
	compared, match, diff, errs uint64
	paths                       map[string]uint64 // differing path (indices as *) → comparisons
}

func newResults(win time.Duration, samples int) *results {
	return &results{Results: pipeline.NewResults[Sample](win, samples, tally{endpoints: map[string]*endpointStats{}})}
}

// adoptSamples copies prev's samples: they stay relevant when the mirror's
// comparison changes.
func (r *results) adoptSamples(prev *results) {
	var list []Sample
	prev.With(func(_ *tally, ring *pipeline.Ring[Sample]) { list = ring.List(ring.Cap()) })
	r.With(func(_ *tally, ring *pipeline.Ring[Sample]) {
		for i := len(list) - 1; i >= 0; i-- {
			ring.Push(list[i])
		}
		ring.Changed()
	})
}

// admit returns the endpoint's key as results count it: itself, or
// OtherEndpoint once MaxEndpoints others are known.
func (r *results) admit(key string) string {
	r.With(func(t *tally, _ *pipeline.Ring[Sample]) {
		if _, ok := t.endpoints[key]; !ok && len(t.endpoints) >= MaxEndpoints {
			key = OtherEndpoint
		}
		t.endpoint(key)
	})
	return key
}

// endpoint returns an admitted key's stats.
func (t *tally) endpoint(key string) *endpointStats {
	e := t.endpoints[key]
	if e == nil {
		e = &endpointStats{paths: map[string]uint64{}}
		t.endpoints[key] = e
	}
	return e
}

// record counts one comparison (after noise was filtered out) and keeps its
// sample when it differed.
func (r *results) record(now time.Time, ep string, res compare.Result, noisy bool, smp *Sample) {
	r.Record(now, !res.Match, func(t *tally, ring *pipeline.Ring[Sample]) {
		e := t.endpoint(ep)
		t.sent++
		t.compared++
		e.compared++
		if noisy {
			t.noisy++
		}
		if res.Match {
			t.match++
			e.match++
			return
		}
		t.diff++
		e.diff++
		seen := make(map[string]bool, len(res.Diffs))
		for _, d := range res.Diffs {
			p := pathPattern(d.Path)
			if seen[p] {
				continue
			}
			seen[p] = true
			if _, ok := e.paths[p]; !ok && len(e.paths) >= MaxPaths {
				p = OtherPath
			}
			e.paths[p]++
		}
		if smp != nil {
			ring.Push(*smp)
		}
	})
}

// recordError counts a copy that got no answer.
func (r *results) recordError(now time.Time, ep string, err error) {
	r.With(func(t *tally, _ *pipeline.Ring[Sample]) {
		e := t.endpoint(ep)
		t.sent++
		t.errs++
		e.errs++
		t.lastError = now.UTC().Format(time.RFC3339) + ": " + err.Error()
	})
}

// recordSent counts a copy of a mirror without compare.
func (r *results) recordSent() {
	r.With(func(t *tally, _ *pipeline.Ring[Sample]) { t.sent++ })
}

// endpointOf names the endpoint of a request: the method, the service's
// path prefix and the first path segment after it, a segment that looks
// like an identifier (digits, a UUID, a long hex string) written {id}.
func endpointOf(method, prefix, path string) string {
	base := strings.TrimSuffix(prefix, "/")
	rest, ok := strings.CutPrefix(path, base)
	if !ok {
		base, rest = "", path
	}
	seg, _, _ := strings.Cut(strings.TrimPrefix(rest, "/"), "/")
	if seg == "" {
		if base == "" {
			base = "/"
		}
		return method + " " + base
	}
	if isID(seg) {
		seg = "{id}"
	}
	return method + " " + base + "/" + seg
}

// isID reports whether a path segment looks like an identifier rather than
// a name: all digits, or 16 or more hex digits and dashes, or very long.
func isID(s string) bool {
	if len(s) > 64 {
		return true
	}
	digits, hex := true, len(s) >= 16
	for i := 0; i < len(s); i++ {
		c := s[i]
		isDigit := '0' <= c && c <= '9'
		digits = digits && isDigit
		hex = hex && (isDigit || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' || c == '-')
	}
	return digits || hex
}

// pathPattern writes the array indices of a JSON Pointer as *, so that a
// field differing in every element of a list counts as one path.
func pathPattern(p string) string {
	if !strings.HasPrefix(p, "/") {
		return p
	}
	parts := strings.Split(p, "/")
	changed := false
	for i, s := range parts {
		if s != "" && allDigits(s) {
			parts[i], changed = "*", true
		}
	}
	if !changed {
		return p
	}
	return strings.Join(parts, "/")
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// GateName is the name of the analysis check Gate adds.
const GateName = "diff_rate"

// Gate returns the rollout analysis check max_diff_rate: the share of a
// service's mirrored comparisons that differed over the analysis window,
// noise excluded. Fewer comparisons than analysis.min_requests give no
// verdict (the rollout waits for traffic).
func (m *Manager) Gate() rollout.Gate {
	return pipeline.Gate[Sample, tally]{
		Check: GateName,
		Limit: func(a *config.Analysis) *float64 { return a.MaxDiffRate },
		Results: func(service string) *pipeline.Results[Sample, tally] {
			if s := m.lookup(service); s != nil {
				return s.res.Results
			}
			return nil
		},
		Now: func() time.Time { return m.o.Now() },
	}
}
