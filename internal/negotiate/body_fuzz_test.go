package negotiate

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"
)

// findReference is Pointer.Find's meaning written the plain way: decode
// the whole document with encoding/json (numbers as written) and walk it.
func findReference(p Pointer, doc []byte) (string, bool, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return "", false, nil
	}
	if _, err := dec.Token(); err != io.EOF {
		return "", false, nil // trailing data: not one JSON document
	}
	for _, tok := range p.tokens {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[tok]; !ok {
				return "", false, nil
			}
		case []any:
			i, ok := arrayIndex(tok)
			if !ok || i >= len(x) {
				return "", false, nil
			}
			v = x[i]
		default:
			return "", false, nil
		}
	}
	switch x := v.(type) {
	case string:
		s := trimOWS(x)
		return s, s != "", nil
	case json.Number:
		return string(x), true, nil
	case nil:
		return "", false, nil
	}
	return "", false, ErrMalformed
}

// FuzzPointerFind: Find agrees with decoding the whole document, for
// every document and pointer.
func FuzzPointerFind(f *testing.F) {
	for _, seed := range []struct{ ptr, doc string }{
		{"/api_version", `{"api_version": "2"}`},
		{"/api_version", `{"api_version": 2.10, "api_version": "v1"}`},
		{"/a/0", `{"a": [" 3 ", null]}`},
		{"/a~1b", `{"a/b": {"c": true}}`},
		{"/x", `{"x": "2"} {"x": "3"}`},
		{"/x", `{"x": "\ud800"}`},
		{"/", `{"": -1e3}`},
		{"/\ufffd", `{"\ud800": "2"}`},
		{"/a\ufffdb", "{\"a\xffb\": \"2\"}"},
		{"/a\xffb", "{\"a\xffb\": \"2\"}"},
		{"/a/a", `{"a": {"a": "1"}, "a": {"a": "2"}}`},
		{"/a/1", `{"a": [0, "2" ,3], "b": {"c": [[], {}]}}`},
		{"/a", `{"a": "2",}`},
		{"/a", `{"a": "2"}]`},
	} {
		f.Add(seed.ptr, []byte(seed.doc))
	}
	f.Fuzz(func(t *testing.T, ptr string, doc []byte) {
		p, err := ParsePointer(ptr)
		if err != nil {
			return
		}
		v, found, err := p.Find(doc)
		rv, rfound, rerr := findReference(p, doc)
		if v != rv || found != rfound || !errors.Is(err, rerr) {
			t.Fatalf("Find(%q, %q) = %q, %v, %v; reference %q, %v, %v", ptr, doc, v, found, err, rv, rfound, rerr)
		}
	})
}
