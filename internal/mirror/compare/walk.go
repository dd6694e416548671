package compare

import (
	"math"
	"slices"
	"strings"
)

// pending is a JSON difference found by a walk, kept cheap (a path and the
// two values; nil for a side that has none) until the walk ends: only the
// first MaxDiffs, in path order, are rendered.
type pending struct {
	path []seg
	p, c *node
}

// walker compares two decoded JSON documents. A collecting walker records
// every difference; a dry one (used to match elements of unordered arrays)
// only counts them and stops once it has found more than limit.
type walker struct {
	cmp     *Comparer
	pd, cd  *doc
	path    []seg
	out     []pending
	n       int
	limit   int
	collect bool
	budget  *int // value visits left for dry walks, shared by one Compare
}

// newWalker returns the collecting walker of one comparison.
func newWalker(c *Comparer, pd, cd *doc) *walker {
	budget := unorderedBudget
	return &walker{cmp: c, pd: pd, cd: cd, path: make([]seg, 0, 16), limit: math.MaxInt, collect: true, budget: &budget}
}

func (w *walker) stopped() bool { return w.n > w.limit }

func (w *walker) push(s seg) { w.path = append(w.path, s) }
func (w *walker) pop()       { w.path = w.path[:len(w.path)-1] }

func (w *walker) differ(p, c *node) {
	w.n++
	if w.collect {
		w.out = append(w.out, pending{path: slices.Clone(w.path), p: p, c: c})
	}
}

// onlyOne records a value present on one side only, unless its path is
// ignored.
func (w *walker) onlyOne(p, c *node) {
	if !w.cmp.ignore.matchExact(w.path) {
		w.differ(p, c)
	}
}

// value compares the values at w.path. An ignored path is skipped with
// everything under it: each node checks the ignore patterns of its own
// depth, so a pattern covers its whole subtree.
func (w *walker) value(p, c *node) {
	if !w.collect {
		*w.budget--
	}
	if w.cmp.ignore.matchExact(w.path) {
		return
	}
	if p.kind == c.kind {
		switch p.kind {
		case kObj:
			w.object(p, c)
			return
		case kArr:
			w.array(p, c)
			return
		case kNum:
			if numEqual(p.text, c.text) || w.cmp.tolerates(w.path, p.text, c.text) {
				return
			}
		case kStr:
			if p.text == c.text {
				return
			}
		default: // null, true, false
			return
		}
	}
	w.differ(p, c)
}

// object compares two objects by merging their members, which the parser
// sorted by key. Keys are compared exactly ("Name" and "name" are
// different keys); only patterns match keys case-insensitively.
func (w *walker) object(p, c *node) {
	pm, cm := w.pd.children(p), w.cd.children(c)
	i, j := 0, 0
	for (i < len(pm) || j < len(cm)) && !w.stopped() {
		var order int
		switch {
		case i == len(pm):
			order = 1
		case j == len(cm):
			order = -1
		default:
			order = strings.Compare(pm[i].key, cm[j].key)
		}
		switch {
		case order == 0:
			w.push(seg{key: pm[i].key, idx: -1})
			w.value(&pm[i], &cm[j])
			i, j = i+1, j+1
		case order < 0:
			w.push(seg{key: pm[i].key, idx: -1})
			w.onlyOne(&pm[i], nil)
			i++
		default:
			w.push(seg{key: cm[j].key, idx: -1})
			w.onlyOne(nil, &cm[j])
			j++
		}
		w.pop()
	}
}

// array compares two arrays element by element, or as multisets when an
// unordered pattern names the array and both have at most maxUnordered
// elements (larger ones are compared in order).
func (w *walker) array(pn, cn *node) {
	p, c := w.pd.children(pn), w.cd.children(cn)
	if w.cmp.unordered.matchExact(w.path) && len(p) <= maxUnordered && len(c) <= maxUnordered {
		w.unordered(p, c)
		return
	}
	w.ordered(p, c)
}

func (w *walker) ordered(p, c []node) {
	n := min(len(p), len(c))
	for i := 0; i < n && !w.stopped(); i++ {
		w.push(seg{idx: i})
		w.value(&p[i], &c[i])
		w.pop()
	}
	for i := n; i < len(p) && !w.stopped(); i++ {
		w.push(seg{idx: i})
		w.onlyOne(&p[i], nil)
		w.pop()
	}
	for i := n; i < len(c) && !w.stopped(); i++ {
		w.push(seg{idx: i})
		w.onlyOne(nil, &c[i])
		w.pop()
	}
}

// Limits of the multiset comparison, which is quadratic.
const (
	maxUnordered = 256  // elements per side; larger arrays are compared in order
	maxBestPairs = 1024 // leftover pairs scored for best match; beyond, leftovers pair in order
	// unorderedBudget is how many values one comparison may visit matching
	// elements of unordered arrays. Once it is spent, the array being
	// matched and any later one are compared in order, and leftovers pair
	// in order, so a hostile body costs bounded time.
	unorderedBudget = 1 << 20
)

// unordered compares arrays as multisets. Each primary element first takes
// an equal, not yet taken candidate element (the one at its own index when
// that is equal). Leftover primary elements are then paired greedily with
// the leftover candidate element they differ from least, and their
// differences are reported under the primary element's index. Candidate
// elements still left are reported as if appended after the primary's last
// element, so their paths never collide with a primary element's.
func (w *walker) unordered(p, c []node) {
	taken := make([]bool, len(c))
	var leftP []int
	for i := range p {
		if *w.budget <= 0 {
			w.ordered(p, c) // nothing was recorded yet
			return
		}
		w.push(seg{idx: i})
		j := -1
		if i < len(c) && !taken[i] && w.equal(&p[i], &c[i]) {
			j = i
		} else {
			for k := range c {
				if !taken[k] && k != i && w.equal(&p[i], &c[k]) {
					j = k
					break
				}
			}
		}
		w.pop()
		if j >= 0 {
			taken[j] = true
		} else {
			leftP = append(leftP, i)
		}
	}
	var leftC []int
	for k, t := range taken {
		if !t {
			leftC = append(leftC, k)
		}
	}
	if len(leftP) == 0 && len(leftC) == 0 {
		return
	}
	best := w.collect && len(leftP)*len(leftC) <= maxBestPairs
	appended := len(p)
	for _, i := range leftP {
		if w.stopped() {
			return
		}
		w.push(seg{idx: i})
		var k int
		if best && *w.budget > 0 {
			k = w.closest(&p[i], c, leftC)
		} else {
			k = slices.IndexFunc(leftC, func(k int) bool { return k >= 0 })
		}
		if k >= 0 {
			w.value(&p[i], &c[leftC[k]])
			leftC[k] = -1
		} else {
			w.onlyOne(&p[i], nil)
		}
		w.pop()
	}
	for _, k := range leftC {
		if k >= 0 {
			w.push(seg{idx: appended})
			w.onlyOne(nil, &c[k])
			w.pop()
			appended++
		}
	}
}

// equal reports whether p and c (at w.path) have no difference.
func (w *walker) equal(p, c *node) bool {
	return w.count(p, c, 0) == 0
}

// count returns the number of differences between p and c at w.path, or
// some number above limit once it exceeds limit.
func (w *walker) count(p, c *node, limit int) int {
	d := walker{cmp: w.cmp, pd: w.pd, cd: w.cd, path: w.path, limit: limit, budget: w.budget}
	d.value(p, c)
	return d.n
}

// closest returns the index in left (entries < 0 are used up) of the
// element of c that differs least from v, or -1 when none is left.
func (w *walker) closest(v *node, c []node, left []int) int {
	best, bestN := -1, math.MaxInt
	for i, k := range left {
		if k < 0 {
			continue
		}
		if n := w.count(v, &c[k], bestN-1); n < bestN {
			best, bestN = i, n
		}
	}
	return best
}
