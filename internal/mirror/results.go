package mirror

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/turnout-gw/turnout/internal/mirror/compare"
	"github.com/turnout-gw/turnout/internal/stats"
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

// results are one service's comparison outcomes. dropped and tooLarge are
// counted on the request path; the rest by workers, under mu.
type results struct {
	dropped, tooLarge atomic.Uint64
	pending           atomic.Int64 // copies queued or being sent

	laneMu sync.Mutex
	busy   int    // workers on this service's copies
	lane   []*tap // copies waiting for one of them

	mu                                       sync.Mutex
	sent, compared, match, diff, errs, noisy uint64
	lastError                                string
	endpoints                                map[string]*endpointStats
	win                                      stats.RatioWindow
	samples                                  ring
}

// endpointStats are one endpoint's outcomes.
type endpointStats struct {
	compared, match, diff, errs uint64
	paths                       map[string]uint64 // differing path (indices as *) → comparisons
}

func newResults(win time.Duration, samples int) *results {
	return &results{endpoints: map[string]*endpointStats{}, win: stats.NewRatioWindow(win), samples: newRing(samples)}
}

func (r *results) resize(win time.Duration) {
	r.mu.Lock()
	r.win.Resize(win)
	r.mu.Unlock()
}

// adoptSamples copies prev's samples: they stay relevant when the mirror's
// comparison changes.
func (r *results) adoptSamples(prev *results) {
	prev.mu.Lock()
	list := prev.samples.list(len(prev.samples.items))
	prev.mu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(list) - 1; i >= 0; i-- {
		r.samples.push(list[i])
	}
	r.samples.dirty = false
}

// admit returns the endpoint's key as results count it: itself, or
// OtherEndpoint once MaxEndpoints others are known.
func (r *results) admit(key string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.endpoints[key]; !ok && len(r.endpoints) >= MaxEndpoints {
		key = OtherEndpoint
	}
	r.endpointLocked(key)
	return key
}

// endpointLocked returns an admitted key's stats.
func (r *results) endpointLocked(key string) *endpointStats {
	e := r.endpoints[key]
	if e == nil {
		e = &endpointStats{paths: map[string]uint64{}}
		r.endpoints[key] = e
	}
	return e
}

// record counts one comparison (after noise was filtered out) and keeps its
// sample when it differed.
func (r *results) record(now time.Time, ep string, res compare.Result, noisy bool, smp *Sample) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.endpointLocked(ep)
	r.sent++
	r.compared++
	e.compared++
	if noisy {
		r.noisy++
	}
	r.win.Add(now, !res.Match)
	if res.Match {
		r.match++
		e.match++
		return
	}
	r.diff++
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
		r.samples.push(*smp)
	}
}

// recordError counts a copy that got no answer.
func (r *results) recordError(now time.Time, ep string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.endpointLocked(ep)
	r.sent++
	r.errs++
	e.errs++
	r.lastError = now.UTC().Format(time.RFC3339) + ": " + err.Error()
}

// recordSent counts a copy of a mirror without compare.
func (r *results) recordSent() {
	r.mu.Lock()
	r.sent++
	r.mu.Unlock()
}

// rate returns the diff rate and the comparisons it rests on over the
// window ending at now (not before since).
func (r *results) rate(now time.Time, d time.Duration, since time.Time) (float64, int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.win.Rate(now, d, since)
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
