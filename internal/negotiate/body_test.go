package negotiate

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestParsePointer: RFC 6901 pointers compile to unescaped tokens; the
// whole-document pointer, a pointer without a leading / and a bad escape
// are refused.
func TestParsePointer(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"/api_version", []string{"api_version"}},
		{"/meta/version", []string{"meta", "version"}},
		{"/a~1b/c~0d/~01", []string{"a/b", "c~d", "~1"}},
		{"/", []string{""}},
		{"/items/0", []string{"items", "0"}},
	} {
		p, err := ParsePointer(tc.in)
		if err != nil || strings.Join(p.tokens, "|") != strings.Join(tc.want, "|") || p.String() != tc.in {
			t.Errorf("ParsePointer(%q) = %q, %v; want %q", tc.in, p.tokens, err, tc.want)
		}
	}
	for _, bad := range []string{"", "api_version", "/a~", "/a~2", "#/a"} {
		if _, err := ParsePointer(bad); err == nil {
			t.Errorf("ParsePointer(%q) accepted", bad)
		}
	}
}

// TestPointerFind: strings and numbers are versions; null, "" and a
// missing member are none; other types are malformed; invalid JSON
// carries none; duplicates resolve to the last, as encoding/json does.
func TestPointerFind(t *testing.T) {
	for _, tc := range []struct {
		ptr, doc string
		want     string
		found    bool
		err      error
	}{
		{"/api_version", `{"api_version": "2"}`, "2", true, nil},
		{"/api_version", `{"api_version": 2}`, "2", true, nil},
		{"/api_version", `{"api_version": 2.1}`, "2.1", true, nil},
		{"/api_version", ` {"x": [1, {"y": "}"}], "api_version": " v2 "} `, "v2", true, nil},
		{"/api_version", `{"api_version": "v1", "api_version": "v2"}`, "v2", true, nil},
		{"/api_version", `{"API_VERSION": "2"}`, "", false, nil},
		{"/api_version", `{"api_version": null}`, "", false, nil},
		{"/api_version", `{"api_version": ""}`, "", false, nil},
		{"/api_version", `{"api_version": true}`, "", false, ErrMalformed},
		{"/api_version", `{"api_version": {"major": 2}}`, "", false, ErrMalformed},
		{"/api_version", `{"api_version": ["2"]}`, "", false, ErrMalformed},
		{"/api_version", `{"api_version": "2"`, "", false, nil},
		{"/api_version", `{"api_version": "2", "x": }`, "", false, nil},
		{"/api_version", `{"api_version": "2"} trailing`, "", false, nil},
		{"/api_version", `["2"]`, "", false, nil},
		{"/api_version", `"2"`, "", false, nil},
		{"/meta/version", `{"meta": {"version": "3"}}`, "3", true, nil},
		{"/meta/version", `{"meta": "3"}`, "", false, nil},
		{"/versions/1", `{"versions": ["1", "2"]}`, "2", true, nil},
		{"/versions/2", `{"versions": ["1", "2"]}`, "", false, nil},
		{"/versions/-", `{"versions": ["1", "2"]}`, "", false, nil},
		{"/versions/01", `{"versions": ["1", "2"]}`, "", false, nil},
		{"/a~1b", `{"a/b": "v2"}`, "v2", true, nil},
		{"/", `{"": "v2"}`, "v2", true, nil},
		{"/api_version", `{"api_version": "\u0076\u0032"}`, "v2", true, nil},
	} {
		p, err := ParsePointer(tc.ptr)
		if err != nil {
			t.Fatal(err)
		}
		v, found, err := p.Find([]byte(tc.doc))
		if v != tc.want || found != tc.found || !errors.Is(err, tc.err) {
			t.Errorf("Find(%s, %s) = %q, %v, %v; want %q, %v, %v", tc.ptr, tc.doc, v, found, err, tc.want, tc.found, tc.err)
		}
	}
}

// jsonRequest is a POST with a JSON body of declared length.
func jsonRequest(body, ct string, headers ...[2]string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/users", strings.NewReader(body))
	if ct != "" {
		r.Header.Set("Content-Type", ct)
	}
	for _, h := range headers {
		r.Header.Add(h[0], h[1])
	}
	return r
}

// TestBodySource: the body source takes its place in the order of
// precedence; WantsBody asks for the body only when a JSON body could
// decide; a body over MaxBody or of another media type carries nothing.
func TestBodySource(t *testing.T) {
	n := mustNew(t, Options{Sources: []Source{SourceHeader, SourceBody, SourceQuery}, Header: "X-API-Version",
		Query: "version", Body: "/api_version", MaxBody: 64})
	body := `{"api_version": "2"}`
	for _, tc := range []struct {
		name  string
		r     *http.Request
		wants bool
		value string
		src   Source
	}{
		{"body", jsonRequest(body, "application/json"), true, "2", SourceBody},
		{"+json", jsonRequest(body, "application/vnd.example+json; charset=utf-8"), true, "2", SourceBody},
		{"header first", jsonRequest(body, "application/json", [2]string{"X-API-Version", "1"}), false, "1", SourceHeader},
		{"body before query", jsonRequest(body, "Application/JSON", [2]string{"X-Other", "1"}), true, "2", SourceBody},
		{"text", jsonRequest(body, "text/plain"), false, "", SourceNone},
		{"no content type", jsonRequest(body, ""), false, "", SourceNone},
		{"gzip", jsonRequest(body, "application/json", [2]string{"Content-Encoding", "gzip"}), false, "", SourceNone},
		{"json-seq", jsonRequest(body, "application/json-seq"), false, "", SourceNone},
		{"over max", jsonRequest(`{"api_version": "2", "pad": "`+strings.Repeat("x", 64)+`"}`, "application/json"), false, "", SourceNone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := n.WantsBody(tc.r, ""); got != tc.wants {
				t.Errorf("WantsBody = %v, want %v", got, tc.wants)
			}
			b := []byte(body)
			if tc.name == "over max" {
				b = []byte(`{"api_version": "2", "pad": "` + strings.Repeat("x", 64) + `"}`)
			}
			v, src, ok, err := n.RequestedIn(tc.r, "", b)
			if err != nil || v != tc.value || src != tc.src || ok != (tc.src != SourceNone) {
				t.Errorf("RequestedIn = %q, %v, %v, %v; want %q, %v", v, src, ok, err, tc.value, tc.src)
			}
		})
	}
	get := newRequest("version=3")
	if n.WantsBody(get, "") {
		t.Error("WantsBody of a request without a body")
	}
	if v, src, _, _ := n.RequestedIn(get, "", nil); v != "3" || src != SourceQuery {
		t.Errorf("a GET falls through to the query: %q %v", v, src)
	}
	bad := jsonRequest(`{"api_version": true}`, "application/json")
	if _, src, _, err := n.RequestedIn(bad, "", []byte(`{"api_version": true}`)); !errors.Is(err, ErrMalformed) || src != SourceBody {
		t.Errorf("a boolean version: %v %v, want ErrMalformed from body", src, err)
	}
	if v, _, ok, _ := n.Requested(jsonRequest(body, "application/json"), ""); ok {
		t.Errorf("Requested without a body found %q", v)
	}
}

// TestBodyOptions: the body source needs a valid pointer; MaxBody
// defaults and must not be negative.
func TestBodyOptions(t *testing.T) {
	if _, err := New(Options{Sources: []Source{SourceBody}}); err == nil {
		t.Error("body source without a pointer accepted")
	}
	if _, err := New(Options{Sources: []Source{SourceBody}, Body: "x"}); err == nil {
		t.Error("pointer without / accepted")
	}
	if _, err := New(Options{Sources: []Source{SourceBody}, Body: "/v", MaxBody: -1}); err == nil {
		t.Error("negative max body accepted")
	}
	n := mustNew(t, Options{Sources: []Source{SourceBody}, Body: "/v"})
	if n.MaxBody() != DefaultMaxBody || !n.HasSource(SourceBody) {
		t.Errorf("MaxBody %d, HasSource %v", n.MaxBody(), n.HasSource(SourceBody))
	}
	if s, err := ParseSource("BODY"); err != nil || s != SourceBody || s.String() != "body" {
		t.Errorf("ParseSource(BODY) = %v, %v", s, err)
	}
}
