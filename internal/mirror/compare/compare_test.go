package compare

import (
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/turnout-gw/turnout/internal/config"
)

func jsonResp(body string) *Response {
	return &Response{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(body)}
}

func mustNew(t testing.TB, c *config.Compare) *Comparer {
	t.Helper()
	cmp, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return cmp
}

func TestNewRefusesBadConfig(t *testing.T) {
	for _, tc := range []struct {
		c    config.Compare
		want string
	}{
		{config.Compare{Ignore: []string{"a"}}, `ignore[0]: "a" is not a JSON Pointer`},
		{config.Compare{Unordered: []string{"/ok", "/x~2"}}, `unordered[1]: "/x~2" is not a valid JSON Pointer`},
		{config.Compare{Tolerance: map[string]float64{"t": 1}}, `tolerance: "t" is not a JSON Pointer`},
		{config.Compare{Tolerance: map[string]float64{"/t": -1}}, `tolerance: -1 for "/t"`},
		{config.Compare{Tolerance: map[string]float64{"/t": math.NaN()}}, `tolerance: NaN for "/t"`},
		{config.Compare{Tolerance: map[string]float64{"/t": math.Inf(1)}}, `tolerance: +Inf for "/t"`},
		{config.Compare{Headers: []string{"A B"}}, `headers[0]: "A B" is not a valid header name`},
		{config.Compare{Headers: []string{""}}, `headers[0]: "" is not a valid header name`},
	} {
		_, err := New(&tc.c)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want an error containing %q", tc.c, err, tc.want)
		}
	}
}

func TestNilComparerAndResponses(t *testing.T) {
	var c *Comparer
	if r := c.Compare(nil, nil); !r.Match {
		t.Errorf("nil vs nil = %+v, want a match", r)
	}
	r := c.Compare(jsonResp(`{"a":1}`), nil)
	if r.Match || len(r.Diffs) != 2 || r.Diffs[0].Path != "status" || r.Diffs[1].Path != "" {
		t.Errorf("response vs nil = %+v, want status and body differences", r)
	}
}

func TestHeaderLookupIgnoresKeyCase(t *testing.T) {
	c := mustNew(t, &config.Compare{Headers: []string{"x-version"}})
	p, q := jsonResp(`{}`), jsonResp(`{}`)
	p.Header["x-version"] = []string{"1"} // not canonical, as a hand-built Header may be
	q.Header.Set("X-Version", "1")
	if r := c.Compare(p, q); !r.Match {
		t.Errorf("same header under different key case = %+v, want a match", r)
	}
	q.Header.Set("X-Version", "2")
	if r := c.Compare(p, q); r.Match || r.Diffs[0] != (Diff{Path: "header:x-version", Primary: `"1"`, Candidate: `"2"`}) {
		t.Errorf("got %+v", r)
	}
}

func TestNumEqual(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"1", "1.0", true}, {"100", "1e2", true}, {"100", "1E+2", true}, {"0.01", "1e-2", true},
		{"0", "-0", true}, {"0", "0.000e5", true}, {"-1.5", "-15e-1", true}, {"1e0000000000000000000001", "10", true},
		{"1", "-1", false}, {"12345678901234567890", "12345678901234567891", false},
		{"1e999999999999999", "1e999999999999998", false}, {"1e9999999999999999", "1e9999999999999998", false},
		{"1e9999999999999999", "1e9999999999999999", true}, {"0.1", "0.10000000000000000000000001", false},
	} {
		if got := numEqual(tc.a, tc.b); got != tc.want {
			t.Errorf("numEqual(%s, %s) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestWithin(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		tol  float64
		want bool
	}{
		{"0", "0.3", 0.3, true}, // exact decimal: 0.3 is not rounded down to 0.2999…
		{"0.1", "0.2", 0.1, true},
		{"1", "1.0001", 0.0001, true},
		{"1", "1.00011", 0.0001, false},
		{"12345678901234567890", "12345678901234567895", 5, true},
		{"12345678901234567890", "12345678901234567896", 5, false},
		{"1e20000", "1e20000", 1, false}, // beyond exact arithmetic: float64 is +Inf, never within
		{"1e-20000", "0", 1, true},
		{"-1e3", "-1000.5", 0.5, true},
	} {
		tol := newTolerance(pattern{}, tc.tol)
		if got := tol.within(tc.a, tc.b); got != tc.want {
			t.Errorf("within(%s, %s, %v) = %v, want %v", tc.a, tc.b, tc.tol, got, tc.want)
		}
	}
}

func TestPatternIndexAndKey(t *testing.T) {
	c := mustNew(t, &config.Compare{Ignore: []string{"/a/0", "/b/*"}})
	r := c.Compare(jsonResp(`{"a":[1,2],"b":{"x":1},"c":{"0":1}}`), jsonResp(`{"a":[9,2],"b":{"x":2,"y":3},"c":{"0":2}}`))
	if r.Match || len(r.Diffs) != 1 || r.Diffs[0].Path != "/c/0" {
		t.Errorf("got %+v, want only /c/0 to differ", r)
	}
	r = c.Compare(jsonResp(`{"a":{"0":1}}`), jsonResp(`{"a":{"0":2}}`))
	if !r.Match {
		t.Errorf("/a/0 should also ignore the object key \"0\": %+v", r)
	}
}

func TestUnorderedLargeArraysAreCompared(t *testing.T) {
	c := mustNew(t, &config.Compare{Unordered: []string{"/"}})
	var a, b []string
	for i := range maxUnordered + 1 {
		a = append(a, fmt.Sprint(i))
		b = append(b, fmt.Sprint(maxUnordered-i))
	}
	p := jsonResp(`{"":[` + strings.Join(a, ",") + `]}`)
	q := jsonResp(`{"":[` + strings.Join(b, ",") + `]}`)
	if r := c.Compare(p, q); r.Match {
		t.Errorf("an oversized unordered array is compared in order, so a reversed one must differ")
	}
	p = jsonResp(`{"":[` + strings.Join(a[:maxUnordered], ",") + `]}`)
	q = jsonResp(`{"":[` + strings.Join(b[1:], ",") + `]}`)
	if r := c.Compare(p, q); !r.Match {
		t.Errorf("a reversed unordered array of %d elements = %+v, want a match", maxUnordered, r.Diffs[:1])
	}
}

// TestUnorderedBudget matches elements that differ only in their last
// value: far more work than the budget, so the array falls back to an
// ordered comparison instead of running for long.
func TestUnorderedBudget(t *testing.T) {
	c := mustNew(t, &config.Compare{Unordered: []string{"/items"}})
	zeros := strings.Repeat("0,", 200)
	var a, b []string
	for i := range maxUnordered {
		a = append(a, fmt.Sprintf("[%s%d]", zeros, i))
		b = append(b, fmt.Sprintf("[%s%d]", zeros, maxUnordered-1-i))
	}
	r := c.Compare(jsonResp(`{"items":[`+strings.Join(a, ",")+`]}`), jsonResp(`{"items":[`+strings.Join(b, ",")+`]}`))
	if r.Match || r.Diffs[0].Path != "/items/0/200" {
		t.Errorf("over budget, the array must be compared in order: %+v", r.Diffs[:1])
	}
	// The same array, small enough for the budget, matches.
	r = c.Compare(jsonResp(`{"items":[`+strings.Join(a[:20], ",")+`]}`), jsonResp(`{"items":[`+strings.Join(b[maxUnordered-20:], ",")+`]}`))
	if !r.Match {
		t.Errorf("within budget, a reversed unordered array must match: %+v", r.Diffs[:1])
	}
}

func TestUnorderedDuplicatesAreCounted(t *testing.T) {
	c := mustNew(t, &config.Compare{Unordered: []string{"/t"}})
	r := c.Compare(jsonResp(`{"t":["a","a","b"]}`), jsonResp(`{"t":["b","a","b"]}`))
	if r.Match || len(r.Diffs) != 1 || r.Diffs[0] != (Diff{Path: "/t/1", Primary: `"a"`, Candidate: `"b"`}) {
		t.Errorf("multiset with different duplicates = %+v", r)
	}
}

func TestIgnoredElementsOfDifferentLength(t *testing.T) {
	c := mustNew(t, &config.Compare{Ignore: []string{"/x/*"}, Unordered: []string{"/y"}})
	if r := c.Compare(jsonResp(`{"x":[1,2,3],"y":[1]}`), jsonResp(`{"x":[4],"y":[1]}`)); !r.Match {
		t.Errorf("ignored elements must not count, even extra ones: %+v", r)
	}
}

func TestRenderCutsAtCharacterBoundary(t *testing.T) {
	s := renderJSON(t, `"`+strings.Repeat("é", 300)+`"`)
	if !utf8.ValidString(s) || !strings.HasSuffix(s, "...") || len(s) > maxValue+3 {
		t.Errorf("render of a long string = %q (%d bytes)", s, len(s))
	}
	if got := renderJSON(t, `"a\u0000\"\\\n<\ud800\u00e9"`); got != "\"a\\u0000\\\"\\\\\\n<\ufffdé\"" {
		t.Errorf("render escapes: got %s", got)
	}
	if got := renderJSON(t, ` {"b": [1, 2.50, {}], "a": null, "c": true, "b": false} `); got != `{"a":null,"b":false,"c":true}` {
		t.Errorf("render of an object: got %s", got)
	}
	if got := renderJSON(t, `[`+strings.Repeat(`{"k":[1,2,3]},`, 100)+`0]`); len(got) > maxValue+3 || !strings.HasSuffix(got, "...") {
		t.Errorf("render of a long array: got %s", got)
	}
	if got := renderBytes([]byte("ab\xffc"), false, 0); got != `4 bytes: "ab\ufffdc"` {
		t.Errorf("renderBytes of invalid UTF-8 = %s", got)
	}
	long := renderBytes([]byte(strings.Repeat("x", 1000)), true, 500)
	if !strings.HasPrefix(long, "1000 bytes (truncated), from byte 460: \"xxx") || !strings.HasSuffix(long, `..."`) || len(long) > 250 {
		t.Errorf("renderBytes of a long body = %s", long)
	}
}

func renderJSON(t *testing.T, s string) string {
	t.Helper()
	d, ok := parse([]byte(s))
	if !ok {
		t.Fatalf("parse(%s) failed", s)
	}
	return render(d, &d.root)
}

// TestConcurrentCompare runs one Comparer from many goroutines; with -race
// it checks that Compare shares nothing mutable.
func TestConcurrentCompare(t *testing.T) {
	c := mustNew(t, &config.Compare{Unordered: []string{"/items"}, Tolerance: map[string]float64{"/items/*/n": 0.5}})
	p := jsonResp(`{"items":[{"n":1},{"n":2},{"n":3}]}`)
	q := jsonResp(`{"items":[{"n":3.4},{"n":1.2},{"n":9}]}`)
	want := c.Compare(p, q)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				if got := c.Compare(p, q); fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("concurrent Compare = %+v, want %+v", got, want)
					return
				}
			}
		})
	}
	wg.Wait()
	if want.Match || len(want.Diffs) != 1 || want.Diffs[0].Path != "/items/1/n" {
		t.Errorf("got %+v, want /items/1/n (2 vs 9) only", want)
	}
}
