package compare

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"

	"github.com/turnout-gw/turnout/internal/config"
)

// Response is one answer to compare. Body holds at most the mirror's
// max_body; Truncated says more was cut.
type Response struct {
	Status    int
	Header    http.Header
	Body      []byte
	Truncated bool
}

// Diff is one differing place: Path is a JSON Pointer ("" for the whole
// body), "status", or "header:Name". Primary and Candidate are the values
// rendered compactly as JSON (cut to about 200 bytes), or Missing.
type Diff struct {
	Path      string `json:"path"`
	Primary   string `json:"primary"`
	Candidate string `json:"candidate"`
}

// Result is the outcome of one comparison. Diffs lists at most MaxDiffs
// differences in a stable order (status, headers in configured order, then
// body paths in document order); Omitted counts the ones left out.
type Result struct {
	Match   bool   `json:"match"`
	Diffs   []Diff `json:"diffs,omitempty"`
	Omitted int    `json:"omitted,omitempty"`
}

// MaxDiffs is the most differences one Result lists.
const MaxDiffs = 100

// Comparer compares answers as a config.Compare says. It is immutable after
// New and safe for concurrent use.
type Comparer struct {
	ignore    patternSet
	unordered patternSet
	tolerance []tolerance // deepest pattern first, then smallest tolerance
	headers   []string    // as configured, without case-insensitive duplicates
}

// New compiles a comparison. A nil c gives the defaults: status and body
// compared, no headers, nothing ignored. Errors name the offending entry;
// config.Validate refuses the same entries with a file position.
func New(c *config.Compare) (*Comparer, error) {
	if c == nil {
		return &Comparer{}, nil
	}
	var cmpr Comparer
	var err error
	if cmpr.ignore, err = newPatternSet("ignore", c.Ignore); err != nil {
		return nil, err
	}
	if cmpr.unordered, err = newPatternSet("unordered", c.Unordered); err != nil {
		return nil, err
	}
	for raw, abs := range c.Tolerance {
		p, err := parsePattern(raw)
		if err != nil {
			return nil, fmt.Errorf("compare: tolerance: %w", err)
		}
		if !(abs >= 0 && abs <= math.MaxFloat64) {
			return nil, fmt.Errorf("compare: tolerance: %v for %q must be a number of 0 or more", abs, raw)
		}
		cmpr.tolerance = append(cmpr.tolerance, newTolerance(p, abs))
	}
	slices.SortFunc(cmpr.tolerance, func(a, b tolerance) int {
		return cmp.Or(len(b.pat.segs)-len(a.pat.segs), cmp.Compare(a.abs, b.abs), strings.Compare(a.pat.raw, b.pat.raw))
	})
	for i, h := range c.Headers {
		if h == "" || strings.ContainsAny(h, " \t\r\n:") {
			return nil, fmt.Errorf("compare: headers[%d]: %q is not a valid header name", i, h)
		}
		if !slices.ContainsFunc(cmpr.headers, func(s string) bool { return strings.EqualFold(s, h) }) {
			cmpr.headers = append(cmpr.headers, h)
		}
	}
	return &cmpr, nil
}

var defaults = &Comparer{}

// tolerates reports whether two unequal numbers at path are within the
// tolerance of the deepest pattern matching the path or one of its parents.
func (c *Comparer) tolerates(path []seg, a, b string) bool {
	for i := range c.tolerance {
		if t := &c.tolerance[i]; t.pat.matchPrefix(path) {
			return t.within(a, b)
		}
	}
	return false
}

// Compare compares a candidate's answer with the primary's. A nil Response
// compares as status 0 with no headers and an empty body; a nil Comparer
// compares with the defaults.
func (c *Comparer) Compare(primary, candidate *Response) Result {
	o := c.diff(primary, candidate)
	defer o.release()
	return o.result()
}

// outcome is what a comparison found: status, header and byte-level
// differences (head) and JSON ones (body, sorted by path; values in pd and
// cd).
type outcome struct {
	head   []Diff
	body   []pending
	pd, cd *doc
}

// diff compares two answers.
func (c *Comparer) diff(p, q *Response) (o outcome) {
	if c == nil {
		c = defaults
	}
	if p == nil {
		p = &Response{}
	}
	if q == nil {
		q = &Response{}
	}
	if p.Status != q.Status {
		o.head = append(o.head, Diff{Path: "status", Primary: strconv.Itoa(p.Status), Candidate: strconv.Itoa(q.Status)})
	}
	for _, h := range c.headers {
		pv, qv := headerValues(p.Header, h), headerValues(q.Header, h)
		if !slices.Equal(pv, qv) {
			o.head = append(o.head, Diff{Path: "header:" + h, Primary: renderHeader(pv), Candidate: renderHeader(qv)})
		}
	}
	if bytes.Equal(p.Body, q.Body) && p.Truncated == q.Truncated {
		return o
	}
	if !p.Truncated && !q.Truncated && isJSON(p.Header) && isJSON(q.Header) {
		if pd, ok := parse(p.Body); ok {
			cd, ok := parse(q.Body)
			if !ok {
				pd.release()
			} else {
				w := newWalker(c, pd, cd)
				w.value(&pd.root, &cd.root)
				slices.SortFunc(w.out, func(a, b pending) int { return compareSegs(a.path, b.path) })
				o.body, o.pd, o.cd = w.out, pd, cd
				return o
			}
		}
	}
	if d, ok := bytesDiff(p, q); ok {
		o.head = append(o.head, d)
	}
	return o
}

// bytesDiff compares bodies byte for byte. With a truncated side only the
// bytes both sides are known to have count: the bodies differ where their
// kept bytes differ, or when one is complete and ends before or exactly at
// the other's cut (the other had more). Bytes past a cut are never guessed.
func bytesDiff(p, q *Response) (Diff, bool) {
	n := math.MaxInt
	if p.Truncated {
		n = len(p.Body)
	}
	if q.Truncated {
		n = min(n, len(q.Body))
	}
	pb, qb := p.Body[:min(n, len(p.Body))], q.Body[:min(n, len(q.Body))]
	at := 0
	for at < len(pb) && at < len(qb) && pb[at] == qb[at] {
		at++
	}
	differ := at < len(pb) || at < len(qb) ||
		p.Truncated && !q.Truncated && len(q.Body) == n ||
		q.Truncated && !p.Truncated && len(p.Body) == n
	if !differ {
		return Diff{}, false
	}
	return Diff{Path: "", Primary: renderBytes(p.Body, p.Truncated, at), Candidate: renderBytes(q.Body, q.Truncated, at)}, true
}

// release returns the parsed bodies to the pool; o.body is unusable after.
func (o *outcome) release() {
	o.pd.release()
	o.cd.release()
}

// result renders the first MaxDiffs differences.
func (o *outcome) result() Result {
	total := len(o.head) + len(o.body)
	if total == 0 {
		return Result{Match: true}
	}
	r := Result{Diffs: make([]Diff, 0, min(total, MaxDiffs)), Omitted: max(0, total-MaxDiffs)}
	r.Diffs = append(r.Diffs, o.head[:min(len(o.head), MaxDiffs)]...)
	for _, d := range o.body[:min(len(o.body), MaxDiffs-len(r.Diffs))] {
		r.Diffs = append(r.Diffs, Diff{Path: pointer(d.path), Primary: render(o.pd, d.p), Candidate: render(o.cd, d.c)})
	}
	return r
}

// headerValues returns a header's values, finding the name
// case-insensitively even in a Header built without canonical keys.
func headerValues(h http.Header, name string) []string {
	if v, ok := h[textproto.CanonicalMIMEHeaderKey(name)]; ok {
		return v
	}
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

// isJSON reports whether a Content-Type is application/json or a +json type.
func isJSON(h http.Header) bool {
	ct := headerValues(h, "Content-Type")
	if len(ct) == 0 {
		return false
	}
	t, _, _ := strings.Cut(ct[0], ";")
	t = strings.TrimSpace(t)
	return strings.EqualFold(t, "application/json") ||
		len(t) > 5 && strings.Contains(t, "/") && strings.EqualFold(t[len(t)-5:], "+json")
}
