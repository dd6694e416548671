package negotiate

import (
	"errors"
	"testing"
)

func TestAcceptVersion(t *testing.T) {
	const v = "application/vnd.example"
	for _, tc := range []struct {
		name   string
		vendor string // "-" = no vendor configured
		lines  []string
		want   string
		ok     bool
		err    error
	}{
		{name: "no header"},
		{name: "empty line", lines: []string{""}},
		{name: "plain json", lines: []string{"application/json"}},
		{name: "wildcard", lines: []string{"*/*"}},
		{name: "vendor suffix", lines: []string{v + ".v2+json"}, want: "2", ok: true},
		{name: "vendor no suffix", lines: []string{v + ".v2"}, want: "2", ok: true},
		{name: "vendor minor", lines: []string{v + ".v2.1+json"}, want: "2.1", ok: true},
		{name: "vendor case-insensitive", lines: []string{"Application/VND.Example.V3+json"}, want: "3", ok: true},
		{name: "vendor with spaces", lines: []string{"  " + v + ".v2+json  ; charset=utf-8 "}, want: "2", ok: true},
		{name: "vendor without version is ignored", lines: []string{v + "+json"}},
		{name: "other vendor is ignored", lines: []string{"application/vnd.other.v2+json"}},
		{name: "vendor media type starting with v is not a version", lines: []string{v + ".video+json"}},
		{name: "longer vendor is ignored", lines: []string{"application/vnd.examples.v2+json"}},
		{name: "vendor not configured", vendor: "-", lines: []string{v + ".v2+json"}},
		{name: "vendor not configured param counts", vendor: "-", lines: []string{v + ".v2+json; version=3"}, want: "3", ok: true},

		// q-values.
		{name: "higher q wins", lines: []string{v + ".v1+json;q=0.5, " + v + ".v2+json"}, want: "2", ok: true},
		{name: "higher q wins listed first", lines: []string{v + ".v1+json, " + v + ".v2+json;q=0.5"}, want: "1", ok: true},
		{name: "tie goes to first", lines: []string{v + ".v1+json;q=0.8, " + v + ".v2+json;q=0.8"}, want: "1", ok: true},
		{name: "fractional compare", lines: []string{v + ".v1+json;q=0.25, " + v + ".v2+json;q=0.3"}, want: "2", ok: true},
		{name: "q=0 excluded", lines: []string{v + ".v1+json;q=0, " + v + ".v2+json;q=0.001"}, want: "2", ok: true},
		{name: "only q=0", lines: []string{v + ".v1+json;q=0.000"}},
		{name: "q=1.000", lines: []string{v + ".v1+json;q=0.9, " + v + ".v2+json;Q=1.000"}, want: "2", ok: true},
		{name: "q on non-version ranges ignored", lines: []string{"text/html;q=1, " + v + ".v2+json;q=0.1"}, want: "2", ok: true},
		{name: "bad q on non-version range ignored", lines: []string{"text/html;q=abc, " + v + ".v2+json"}, want: "2", ok: true},
		{name: "bad q", lines: []string{v + ".v2+json;q=abc"}, err: ErrMalformed},
		{name: "q above one", lines: []string{v + ".v2+json;q=1.5"}, err: ErrMalformed},
		{name: "q too precise", lines: []string{v + ".v2+json;q=0.5555"}, err: ErrMalformed},
		{name: "q quoted", lines: []string{v + `.v2+json;q="0.5"`}, err: ErrMalformed},
		{name: "q empty", lines: []string{v + ".v2+json;q="}, err: ErrMalformed},

		// version= parameter.
		{name: "version param", lines: []string{"application/json; version=2"}, want: "2", ok: true},
		{name: "version param quoted", lines: []string{`application/json; version="2.1"`}, want: "2.1", ok: true},
		{name: "version param comma in range", lines: []string{`application/json; version=">=2, <3"; q=0.4`}, err: ErrMalformed},
		{name: "version param quoted range spaces", lines: []string{`application/json; version=">=2 <3"`}, want: ">=2 <3", ok: true},
		{name: "version param case", lines: []string{"application/json;VERSION=v2"}, want: "v2", ok: true},
		{name: "version param spaces", lines: []string{"application/json ; version = 2 ; q=0.5"}, want: "2", ok: true},
		{name: "version param on any type", lines: []string{"text/plain;version=4"}, want: "4", ok: true},
		{name: "version param and vendor: vendor wins", lines: []string{v + ".v2+json; version=3"}, want: "2", ok: true},
		{name: "version param vs vendor by q", lines: []string{v + ".v2+json;q=0.1, application/json;version=3;q=0.2"}, want: "3", ok: true},
		{name: "version param empty", lines: []string{"application/json; version="}, err: ErrMalformed},
		{name: "version param empty quoted", lines: []string{`application/json; version=""`}, err: ErrMalformed},
		{name: "version param bad char", lines: []string{"application/json; version=2/3"}, err: ErrMalformed},
		{name: "version param unterminated", lines: []string{`application/json; version="2`}, err: ErrMalformed},
		{name: "version param escaped quote", lines: []string{`application/json; version="2\"x"`}, err: ErrMalformed},
		{name: "comma inside quoted other param", lines: []string{`text/html;foo="a,b", application/json;version=5`}, want: "5", ok: true},
		{name: "param without value ignored", lines: []string{"application/json;foo;version=2"}, want: "2", ok: true},

		// Multiple lines and list syntax.
		{name: "multiple lines", lines: []string{"text/html", v + ".v1+json;q=0.2", v + ".v2+json;q=0.3"}, want: "2", ok: true},
		{name: "multiple lines tie first line", lines: []string{v + ".v5+json", v + ".v2+json"}, want: "5", ok: true},
		{name: "empty elements", lines: []string{" , ,," + v + ".v2+json,,"}, want: "2", ok: true},

		// Malformed vendor versions.
		{name: "vendor empty version", lines: []string{v + ".v+json"}, err: ErrMalformed},
		{name: "vendor empty version no suffix", lines: []string{v + ".v"}, err: ErrMalformed},
		{name: "vendor bad char", lines: []string{v + ".v2_1+json"}, err: ErrMalformed},
		{name: "vendor malformed even with q=0", lines: []string{v + ".v2$+json;q=0, " + v + ".v1+json"}, err: ErrMalformed},
		{name: "vendor range", lines: []string{v + ".v^2.1+json"}, want: "^2.1", ok: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := Options{Sources: []Source{SourceAccept}, AcceptVendor: v}
			if tc.vendor == "-" {
				o.AcceptVendor = ""
			}
			n := mustNew(t, o)
			got, ok, err := n.acceptVersion(tc.lines)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("acceptVersion(%q) = %q, %v, %v; want error %v", tc.lines, got, ok, err, tc.err)
				}
				return
			}
			if err != nil || ok != tc.ok || got != tc.want {
				t.Fatalf("acceptVersion(%q) = %q, %v, %v; want %q, %v", tc.lines, got, ok, err, tc.want, tc.ok)
			}
		})
	}
}

func TestParseQ(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
		ok   bool
	}{
		{"0", 0, true}, {"1", 1000, true}, {"0.", 0, true}, {"1.", 1000, true},
		{"0.5", 500, true}, {"0.05", 50, true}, {"0.005", 5, true}, {"0.123", 123, true},
		{"1.0", 1000, true}, {"1.000", 1000, true},
		{"", 0, false}, {"2", 0, false}, {"1.001", 0, false}, {"0.1234", 0, false},
		{".5", 0, false}, {"0,5", 0, false}, {"0.5x", 0, false}, {"-0", 0, false}, {"01", 0, false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := parseQ(tc.in)
			if ok != tc.ok || (ok && got != tc.want) {
				t.Fatalf("parseQ(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}
