package compare

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"

	"github.com/turnout-gw/turnout/internal/config"
)

// FuzzCompare compares two arbitrary bodies labelled JSON. It must never
// panic; a body compared with itself, or with its re-encoding (keys
// sorted, spacing removed, same number texts), must match; and whether two
// bodies match must not depend on which side is the primary. Seeds are in
// testdata/fuzz/FuzzCompare and below.
func FuzzCompare(f *testing.F) {
	for _, s := range [][2]string{
		{`{"a":1,"b":[1,2,{"c":null}]}`, `{"b":[1,2,{"c":null}],"a":1.0}`},
		{`[1,"x",true,null,{}]`, `[1,"x",false]`},
		{`12345678901234567890`, `12345678901234567891`},
		{`{"items":[{"id":1,"ts":5},{"id":2}]}`, `{"items":[{"id":2},{"id":1,"ts":5.004}]}`},
		{`1e999999999`, `1e999999998`},
		{``, `{}`},
		{`{"a":`, `{"a":1}`},
		{`"\u00e9\ud800"`, `"é"`},
	} {
		f.Add([]byte(s[0]), []byte(s[1]))
	}
	plain, err := New(nil)
	if err != nil {
		f.Fatal(err)
	}
	rich, err := New(&config.Compare{
		Ignore:    []string{"/meta", "/*/ts"},
		Unordered: []string{"/items", "/*/*"},
		Tolerance: map[string]float64{"/items/*/ts": 0.01, "/n": 1e300},
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		if _, ok := parse(a); ok != json.Valid(a) {
			t.Fatalf("parse(%q) ok = %v, json.Valid = %v", a, ok, !ok)
		}
		p, q := jsonResp(string(a)), jsonResp(string(b))
		for _, c := range []*Comparer{plain, rich} {
			r := c.Compare(p, q)
			if r.Match != (len(r.Diffs) == 0) || len(r.Diffs) > MaxDiffs {
				t.Fatalf("inconsistent result %+v", r)
			}
			if self := c.Compare(p, jsonResp(string(a))); !self.Match {
				t.Fatalf("%q compared with itself: %+v", a, self)
			}
			if re, ok := reencode(a); ok {
				if r := c.Compare(p, jsonResp(string(re))); !r.Match {
					t.Fatalf("%q compared with its re-encoding %q: %+v", a, re, r)
				}
			}
			n := NewNoise()
			n.Learn("e", p, q, c)
			if kept, _ := n.Filter("e", r); !kept.Match && r.Omitted == 0 && !longPath(r) {
				t.Fatalf("after learning p vs q as noise, p vs q still differs: %+v (paths %q)", kept, n.Paths("e"))
			}
		}
		if r1, r2 := plain.Compare(p, q), plain.Compare(q, p); r1.Match != r2.Match || len(r1.Diffs) != len(r2.Diffs) {
			t.Fatalf("asymmetric: %+v vs %+v", r1, r2)
		}
	})
}

// reencode decodes a body with encoding/json (numbers kept as written) and
// encodes it again: keys sorted, duplicates dropped, spacing removed,
// strings re-escaped.
func reencode(b []byte) ([]byte, bool) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil || d.More() {
		return nil, false
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, false
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, false
	}
	return buf.Bytes(), true
}

// longPath reports whether a difference is at a path too long to learn.
func longPath(r Result) bool {
	for _, d := range r.Diffs {
		if len(d.Path) > maxNoisePathLen {
			return true
		}
	}
	return false
}
