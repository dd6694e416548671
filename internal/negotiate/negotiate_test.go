package negotiate

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

func allSources() []Source {
	return []Source{SourceHeader, SourceAccept, SourcePath, SourceQuery}
}

func mustNew(t testing.TB, o Options) *Negotiator {
	t.Helper()
	n, err := New(o)
	if err != nil {
		t.Fatalf("New(%+v): %v", o, err)
	}
	return n
}

func defaultOptions() Options {
	return Options{
		Sources:      allSources(),
		Header:       "x-api-version",
		Query:        "version",
		AcceptVendor: "application/vnd.example",
	}
}

// newRequest builds a GET request with the given raw query and header lines.
func newRequest(rawQuery string, headers ...[2]string) *http.Request {
	target := "/users"
	if rawQuery != "" {
		target += "?" + rawQuery
	}
	r := httptest.NewRequest(http.MethodGet, target, nil)
	for _, h := range headers {
		r.Header.Add(h[0], h[1])
	}
	return r
}

func TestSourceStringParse(t *testing.T) {
	for _, tc := range []struct {
		src  Source
		name string
	}{
		{SourceNone, "none"},
		{SourceHeader, "header"},
		{SourceAccept, "accept"},
		{SourcePath, "path"},
		{SourceQuery, "query"},
		{Source(9), "Source(9)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.src.String(); got != tc.name {
				t.Fatalf("String() = %q, want %q", got, tc.name)
			}
			got, err := ParseSource(tc.name)
			if tc.src == SourceNone || tc.src > SourceQuery {
				if err == nil {
					t.Fatalf("ParseSource(%q) = %v, want error", tc.name, got)
				}
				return
			}
			if err != nil || got != tc.src {
				t.Fatalf("ParseSource(%q) = %v, %v; want %v", tc.name, got, err, tc.src)
			}
		})
	}
	if got, err := ParseSource("Accept"); err != nil || got != SourceAccept {
		t.Fatalf("ParseSource is not case-insensitive: %v, %v", got, err)
	}
}

func TestNewValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
		ok   bool
	}{
		{"defaults", defaultOptions(), true},
		{"no sources", Options{}, false},
		{"none source", Options{Sources: []Source{SourceNone}}, false},
		{"unknown source", Options{Sources: []Source{Source(42)}}, false},
		{"duplicate", Options{Sources: []Source{SourcePath, SourcePath}}, false},
		{"header without name", Options{Sources: []Source{SourceHeader}}, false},
		{"header with space", Options{Sources: []Source{SourceHeader}, Header: "X API"}, false},
		{"query without name", Options{Sources: []Source{SourceQuery}}, false},
		{"bad vendor", Options{Sources: []Source{SourceAccept}, AcceptVendor: "vnd.example"}, false},
		{"bad vendor subtype", Options{Sources: []Source{SourceAccept}, AcceptVendor: "application/"}, false},
		{"accept without vendor", Options{Sources: []Source{SourceAccept}}, true},
		{"path only", Options{Sources: []Source{SourcePath}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := New(tc.opts)
			if (err == nil) != tc.ok {
				t.Fatalf("New() = %v, %v; want ok=%v", n, err, tc.ok)
			}
		})
	}
}

func TestNewCopiesAndCanonicalises(t *testing.T) {
	o := defaultOptions()
	n := mustNew(t, o)
	o.Sources[0] = SourceQuery // must not affect n
	if n.sources[0] != SourceHeader {
		t.Fatal("New did not copy Sources")
	}
	if n.header != "X-Api-Version" {
		t.Fatalf("header = %q, want canonical X-Api-Version", n.header)
	}
	for _, s := range allSources() {
		if !n.HasSource(s) {
			t.Errorf("HasSource(%v) = false", s)
		}
	}
	p := mustNew(t, Options{Sources: []Source{SourcePath}})
	for _, s := range []Source{SourceNone, SourceHeader, SourceAccept, SourceQuery, Source(200)} {
		if p.HasSource(s) {
			t.Errorf("HasSource(%v) = true for path-only negotiator", s)
		}
	}
}

func TestRequested(t *testing.T) {
	type want struct {
		value string
		src   Source
		ok    bool
		err   error
	}
	vendor := "application/vnd.example"
	for _, tc := range []struct {
		name    string
		sources []Source // nil = all, in default order
		query   string
		path    string
		headers [][2]string
		want    want
	}{
		{name: "nothing", want: want{src: SourceNone}},
		{name: "header", headers: [][2]string{{"X-API-Version", "v2"}}, want: want{"v2", SourceHeader, true, nil}},
		{name: "header trimmed", headers: [][2]string{{"X-API-Version", " \t2.1 "}}, want: want{"2.1", SourceHeader, true, nil}},
		{name: "header first value", headers: [][2]string{{"X-API-Version", "1"}, {"X-API-Version", "2"}}, want: want{"1", SourceHeader, true, nil}},
		{name: "header blank carries nothing", headers: [][2]string{{"X-API-Version", "  "}}, query: "version=3", want: want{"3", SourceQuery, true, nil}},
		{name: "accept vendor", headers: [][2]string{{"Accept", vendor + ".v2+json"}}, want: want{"2", SourceAccept, true, nil}},
		{name: "path", path: "v2.1", want: want{"v2.1", SourcePath, true, nil}},
		{name: "query", query: "a=b&version=2&c", want: want{"2", SourceQuery, true, nil}},
		{name: "query escaped", query: "version=%5E2.1", want: want{"^2.1", SourceQuery, true, nil}},
		{name: "query plus is space", query: "version=%3E%3D2+%3C3", want: want{">=2 <3", SourceQuery, true, nil}},
		{name: "query escaped key", query: "vers%69on=4", want: want{"4", SourceQuery, true, nil}},
		{name: "query first occurrence", query: "version=1&version=2", want: want{"1", SourceQuery, true, nil}},
		{name: "query empty", query: "version=", want: want{src: SourceNone}},
		{name: "query key only", query: "version", want: want{src: SourceNone}},
		{name: "query prefix key", query: "versions=2&xversion=3", want: want{src: SourceNone}},
		{name: "query bad escape", query: "version=%zz", want: want{"", SourceQuery, false, ErrMalformed}},

		// Precedence.
		{
			name:    "header beats everything",
			headers: [][2]string{{"X-API-Version", "1"}, {"Accept", vendor + ".v2+json"}},
			path:    "v3", query: "version=4",
			want: want{"1", SourceHeader, true, nil},
		},
		{
			name:    "accept beats path and query",
			headers: [][2]string{{"Accept", vendor + ".v2+json"}},
			path:    "v3", query: "version=4",
			want: want{"2", SourceAccept, true, nil},
		},
		{name: "path beats query", path: "v3", query: "version=4", want: want{"v3", SourcePath, true, nil}},
		{
			name:    "reverse order query first",
			sources: []Source{SourceQuery, SourcePath, SourceAccept, SourceHeader},
			headers: [][2]string{{"X-API-Version", "1"}, {"Accept", vendor + ".v2+json"}},
			path:    "v3", query: "version=4",
			want: want{"4", SourceQuery, true, nil},
		},
		{
			name:    "disabled sources are ignored",
			sources: []Source{SourceAccept},
			headers: [][2]string{{"X-API-Version", "1"}},
			path:    "v3", query: "version=4",
			want: want{src: SourceNone},
		},
		{
			name:    "accept without version falls through",
			headers: [][2]string{{"Accept", "application/json"}},
			query:   "version=4",
			want:    want{"4", SourceQuery, true, nil},
		},
		{
			name:    "malformed accept stops the search",
			headers: [][2]string{{"Accept", vendor + ".v2$+json"}},
			query:   "version=4",
			want:    want{"", SourceAccept, false, ErrMalformed},
		},
		{
			name:    "malformed later source is not reached",
			headers: [][2]string{{"X-API-Version", "2"}, {"Accept", vendor + ".v+json"}},
			want:    want{"2", SourceHeader, true, nil},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := defaultOptions()
			if tc.sources != nil {
				o.Sources = tc.sources
			}
			n := mustNew(t, o)
			r := newRequest(tc.query, tc.headers...)
			v, src, ok, err := n.Requested(r, tc.path)
			got := want{v, src, ok, err}
			if got.value != tc.want.value || got.src != tc.want.src || got.ok != tc.want.ok || !errors.Is(got.err, tc.want.err) || (got.err == nil) != (tc.want.err == nil) {
				t.Fatalf("Requested() = %q, %v, %v, %v; want %q, %v, %v, %v",
					v, src, ok, err, tc.want.value, tc.want.src, tc.want.ok, tc.want.err)
			}
		})
	}
}

func TestRequestedNilURL(t *testing.T) {
	n := mustNew(t, Options{Sources: []Source{SourceQuery}, Query: "version"})
	r := &http.Request{Header: http.Header{}}
	if v, src, ok, err := n.Requested(r, ""); ok || err != nil || src != SourceNone {
		t.Fatalf("Requested() = %q, %v, %v, %v", v, src, ok, err)
	}
}

func TestRequestedZeroAllocs(t *testing.T) {
	n := mustNew(t, defaultOptions())
	vendor := "application/vnd.example"
	for _, tc := range []struct {
		name string
		req  *http.Request
		path string
		want string
	}{
		{"header", newRequest("", [2]string{"X-API-Version", "v2"}), "", "v2"},
		{"accept vendor", newRequest("", [2]string{"Accept", vendor + ".v2+json"}), "", "2"},
		{"accept vendor with q", newRequest("", [2]string{"Accept", "text/html, " + vendor + ".v1+json;q=0.5, " + vendor + ".v2.1+json;q=0.9"}), "", "2.1"},
		{"accept version param", newRequest("", [2]string{"Accept", "application/json; version=2"}), "", "2"},
		{"accept quoted version param", newRequest("", [2]string{"Accept", `application/json; version="2.1"`}), "", "2.1"},
		{"path", newRequest(""), "v3", "v3"},
		{"query", newRequest("a=1&version=2"), "", "2"},
		{"nothing", newRequest("a=1", [2]string{"Accept", "*/*"}), "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got string
			allocs := testing.AllocsPerRun(100, func() {
				got, _, _, _ = n.Requested(tc.req, tc.path)
			})
			if got != tc.want {
				t.Fatalf("Requested() = %q, want %q", got, tc.want)
			}
			if allocs != 0 {
				t.Fatalf("Requested() allocated %v times per run, want 0", allocs)
			}
		})
	}
}
