package compare

import (
	"fmt"
	"strconv"
	"strings"
)

// seg is one step of a concrete path into a JSON document: an object key
// (idx < 0) or an array index (idx >= 0).
type seg struct {
	key string
	idx int
}

// patSeg is one segment of a path pattern: a wildcard, or a name that
// matches an object key case-insensitively and, when it is a canonical
// decimal number, the array index of that value.
type patSeg struct {
	key  string
	idx  int // the array index the segment names, or -1
	star bool
}

// pattern is a parsed JSON Pointer (RFC 6901) whose segments may be "*".
type pattern struct {
	raw  string
	segs []patSeg
}

// parsePattern parses a configured pattern. The whole-document pointer ""
// is refused, as config validation does: it would cover everything.
func parsePattern(p string) (pattern, error) {
	if !strings.HasPrefix(p, "/") {
		return pattern{}, fmt.Errorf("%q is not a JSON Pointer; it must start with \"/\"", p)
	}
	parts := strings.Split(p[1:], "/")
	pat := pattern{raw: p, segs: make([]patSeg, len(parts))}
	for i, part := range parts {
		key, ok := unescape(part)
		if !ok {
			return pattern{}, fmt.Errorf("%q is not a valid JSON Pointer; '~' must be written ~0 and '/' inside a name ~1", p)
		}
		pat.segs[i] = patSeg{key: key, idx: parseIndex(key), star: part == "*"}
	}
	return pat, nil
}

// unescape decodes ~1 and ~0 in one pointer segment; ok is false for any
// other use of '~'.
func unescape(s string) (string, bool) {
	if !strings.Contains(s, "~") {
		return s, true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '~' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 == len(s) || (s[i+1] != '0' && s[i+1] != '1') {
			return "", false
		}
		if s[i+1] == '0' {
			b.WriteByte('~')
		} else {
			b.WriteByte('/')
		}
		i++
	}
	return b.String(), true
}

// parseIndex returns the array index a segment names ("0", "17"; no
// leading zeros, as RFC 6901 says), or -1.
func parseIndex(s string) int {
	if s == "" || len(s) > 9 || (s[0] == '0' && len(s) > 1) {
		return -1
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return -1
		}
		n = n*10 + int(s[i]-'0')
	}
	return n
}

func (ps *patSeg) match(s seg) bool {
	switch {
	case ps.star:
		return true
	case s.idx >= 0:
		return ps.idx == s.idx
	default:
		return strings.EqualFold(ps.key, s.key)
	}
}

// matchPrefix reports whether the pattern matches the first len(p.segs)
// segments of path. The last segments are compared first: they tell
// patterns apart soonest.
func (p *pattern) matchPrefix(path []seg) bool {
	if len(p.segs) > len(path) {
		return false
	}
	for i := len(p.segs) - 1; i >= 0; i-- {
		if !p.segs[i].match(path[i]) {
			return false
		}
	}
	return true
}

// patternSet holds patterns grouped by their number of segments, so a node
// at depth d only tries the patterns of length d.
type patternSet [][]pattern

func newPatternSet(what string, raw []string) (patternSet, error) {
	var s patternSet
	for i, r := range raw {
		p, err := parsePattern(r)
		if err != nil {
			return nil, fmt.Errorf("compare: %s[%d]: %w", what, i, err)
		}
		for len(s) <= len(p.segs) {
			s = append(s, nil)
		}
		s[len(p.segs)] = append(s[len(p.segs)], p)
	}
	return s, nil
}

// matchExact reports whether some pattern matches path as a whole.
func (s patternSet) matchExact(path []seg) bool {
	if len(path) >= len(s) {
		return false
	}
	for i := range s[len(path)] {
		if s[len(path)][i].matchPrefix(path) {
			return true
		}
	}
	return false
}

// pointer renders a concrete path as a JSON Pointer; the empty path is "".
func pointer(path []seg) string {
	if len(path) == 0 {
		return ""
	}
	var b strings.Builder
	for _, s := range path {
		b.WriteByte('/')
		if s.idx >= 0 {
			b.WriteString(strconv.Itoa(s.idx))
		} else {
			writeEscaped(&b, s.key)
		}
	}
	return b.String()
}

// generalPointer is pointer with every array index written "*": the form
// Noise learns, so a noisy field of one element covers all elements.
func generalPointer(path []seg) string {
	var b strings.Builder
	for _, s := range path {
		b.WriteByte('/')
		if s.idx >= 0 {
			b.WriteByte('*')
		} else {
			writeEscaped(&b, s.key)
		}
	}
	return b.String()
}

func writeEscaped(b *strings.Builder, key string) {
	for i := 0; i < len(key); i++ {
		switch key[i] {
		case '~':
			b.WriteString("~0")
		case '/':
			b.WriteString("~1")
		default:
			b.WriteByte(key[i])
		}
	}
}

// splitPointer parses a concrete pointer from a Diff back into segments.
// Every segment is taken as a key: patSeg.match compares a numeric pattern
// segment with the key's text, which is the index's text.
func splitPointer(p string) ([]seg, bool) {
	if !strings.HasPrefix(p, "/") {
		return nil, false
	}
	parts := strings.Split(p[1:], "/")
	segs := make([]seg, len(parts))
	for i, part := range parts {
		key, ok := unescape(part)
		if !ok {
			return nil, false
		}
		segs[i] = seg{key: key, idx: -1}
	}
	return segs, true
}

// compareSegs orders paths as a reader expects: segment by segment, array
// indices numerically, keys bytewise, a parent before its children.
func compareSegs(a, b []seg) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		x, y := a[i], b[i]
		switch {
		case x.idx >= 0 && y.idx >= 0:
			if x.idx != y.idx {
				return x.idx - y.idx
			}
		case x.idx >= 0:
			return -1
		case y.idx >= 0:
			return 1
		default:
			if c := strings.Compare(x.key, y.key); c != 0 {
				return c
			}
		}
	}
	return len(a) - len(b)
}
