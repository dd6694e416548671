package negotiate

import (
	"math"
	"strings"
	"sync"

	"github.com/Masterminds/semver/v3"
)

// maxValueLen bounds the length of a value Resolve will look at.
const maxValueLen = 64

// rangeCacheSize bounds the number of range results a Resolver remembers.
const rangeCacheSize = 1024

// Resolver maps requested version values to declared version names. It is
// built once by NewResolver, is immutable (apart from an internal, bounded
// cache) and is safe for concurrent use.
type Resolver struct {
	names   []string
	vers    []*semver.Version // nil for names that are not semver
	exact   map[string]int    // lower-cased name -> index
	numeric map[numKey]int    // "2", "2.1", "2.1.0" -> index of highest release match
	cache   rangeCache
}

// numKey is a plain number of one to three parts; unused parts are zero.
type numKey struct {
	parts               uint8
	major, minor, patch uint64
}

// NewResolver compiles the declared version names. Names are parsed leniently
// as semver ("v1" = 1.0.0, "v2.1" = 2.1.0); names that do not parse, such as
// "beta", can only be selected by exact name. When two names collide
// (case-insensitively, or as equal semver versions) the first one wins.
func NewResolver(names []string) *Resolver {
	r := &Resolver{
		names:   append([]string(nil), names...),
		vers:    make([]*semver.Version, len(names)),
		exact:   make(map[string]int, len(names)),
		numeric: make(map[numKey]int, 3*len(names)),
		cache:   rangeCache{m: make(map[string]rangeResult)},
	}
	for i, name := range r.names {
		lower := strings.ToLower(name)
		if _, dup := r.exact[lower]; !dup {
			r.exact[lower] = i
		}
		v := parseName(name)
		if v == nil {
			continue
		}
		r.vers[i] = v
		// Plain numbers, like Masterminds constraints, never select
		// pre-releases.
		if v.Prerelease() != "" {
			continue
		}
		for _, k := range [...]numKey{
			{parts: 1, major: v.Major()},
			{parts: 2, major: v.Major(), minor: v.Minor()},
			{parts: 3, major: v.Major(), minor: v.Minor(), patch: v.Patch()},
		} {
			if cur, ok := r.numeric[k]; !ok || v.GreaterThan(r.vers[cur]) {
				r.numeric[k] = i
			}
		}
	}
	return r
}

// parseName parses a declared name leniently as semver, or returns nil.
func parseName(name string) *semver.Version {
	s := name
	if len(s) > 0 && (s[0] == 'v' || s[0] == 'V') {
		s = s[1:]
	}
	if s == "" || s[0] < '0' || s[0] > '9' {
		return nil
	}
	v, err := semver.NewVersion(s)
	if err != nil {
		return nil
	}
	return v
}

// Resolve returns the index (into the names given to NewResolver) of the
// declared version that value selects:
//
//  1. an exact, case-insensitive name match ("v2" -> "v2", "2.1.0" -> "2.1.0");
//  2. otherwise value, with an optional leading 'v' or 'V' removed, is a
//     number or a Masterminds semver range ("2", "2.1", "^2.1", "~2.1.0",
//     "2.x", ">=2.0 <3") and selects the highest declared semver version
//     satisfying it: "2" selects the highest 2.y.z, "2.1" the highest 2.1.z.
//     Pre-release versions are only selected by ranges that name a
//     pre-release.
//
// A value that is empty, longer than 64 bytes, or neither a declared name nor
// a parseable number or range yields ErrMalformed; a parseable value that no
// declared version satisfies yields ErrNotAcceptable. Errors are the
// unwrapped sentinels and the index is then -1.
//
// Exact names and plain numbers do not allocate. Range results are cached.
func (r *Resolver) Resolve(value string) (int, error) {
	if len(value) == 0 || len(value) > maxValueLen {
		return -1, ErrMalformed
	}
	var buf [maxValueLen]byte
	lower := buf[:len(value)]
	for i := 0; i < len(value); i++ {
		c := value[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	if i, ok := r.exact[string(lower)]; ok {
		return i, nil
	}
	s := value
	if s[0] == 'v' || s[0] == 'V' {
		s = s[1:]
	}
	if s == "" || s[0] == 'v' || s[0] == 'V' {
		return -1, ErrMalformed
	}
	if k, plain, overflow := parseNumber(s); plain {
		if overflow {
			return -1, ErrMalformed
		}
		if i, ok := r.numeric[k]; ok {
			return i, nil
		}
		return -1, ErrNotAcceptable
	}
	if res, ok := r.cache.get(s); ok {
		return res.index, res.err
	}
	i, err := r.resolveRange(s)
	r.cache.put(s, rangeResult{index: i, err: err})
	return i, err
}

// resolveRange evaluates s as a Masterminds semver constraint against every
// declared semver version and returns the highest match.
func (r *Resolver) resolveRange(s string) (int, error) {
	c, err := semver.NewConstraint(s)
	if err != nil {
		return -1, ErrMalformed
	}
	best := -1
	for i, v := range r.vers {
		if v != nil && c.Check(v) && (best < 0 || v.GreaterThan(r.vers[best])) {
			best = i
		}
	}
	if best < 0 {
		return -1, ErrNotAcceptable
	}
	return best, nil
}

// parseNumber parses s as one to three dot-separated runs of decimal digits.
// plain is false when s has any other shape; overflow reports a part that
// does not fit in a uint64 (which semver cannot parse either).
func parseNumber(s string) (k numKey, plain, overflow bool) {
	var parts [3]uint64
	n, i := 0, 0
	for {
		if n == len(parts) {
			return numKey{}, false, false
		}
		start := i
		var x uint64
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			d := uint64(s[i] - '0')
			if x > (math.MaxUint64-d)/10 {
				overflow = true
			}
			x = x*10 + d
			i++
		}
		if i == start {
			return numKey{}, false, false
		}
		parts[n] = x
		n++
		if i == len(s) {
			break
		}
		if s[i] != '.' {
			return numKey{}, false, false
		}
		i++
	}
	return numKey{parts: uint8(n), major: parts[0], minor: parts[1], patch: parts[2]}, true, overflow
}

// rangeResult is a cached outcome of resolveRange.
type rangeResult struct {
	index int
	err   error
}

// rangeCache is a bounded, concurrency-safe map from range text to result.
// When full, an arbitrary entry is evicted to make room.
type rangeCache struct {
	mu sync.RWMutex
	m  map[string]rangeResult
}

func (c *rangeCache) get(k string) (rangeResult, bool) {
	c.mu.RLock()
	res, ok := c.m[k]
	c.mu.RUnlock()
	return res, ok
}

func (c *rangeCache) put(k string, res rangeResult) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; ok {
		return
	}
	if len(c.m) >= rangeCacheSize {
		for old := range c.m {
			delete(c.m, old)
			break
		}
	}
	c.m[strings.Clone(k)] = res // k may be a substring of a large header
}
