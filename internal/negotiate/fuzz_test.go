package negotiate

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

func FuzzRequestedAccept(f *testing.F) {
	for _, s := range []string{
		"application/vnd.example.v2+json",
		"application/vnd.example.v1+json;q=0.5, application/vnd.example.v2+json",
		`application/json; version="2.1"; q=0.9`,
		"text/html, */*;q=0.1",
	} {
		f.Add(s)
	}
	n := mustNew(f, Options{Sources: []Source{SourceAccept}, AcceptVendor: "application/vnd.example"})
	f.Fuzz(func(t *testing.T, accept string) {
		r := &http.Request{Header: http.Header{"Accept": {accept}}}
		v, src, ok, err := n.Requested(r, "")
		switch {
		case err != nil:
			if !errors.Is(err, ErrMalformed) || ok || v != "" || src != SourceAccept {
				t.Fatalf("Requested(%q) = %q, %v, %v, %v", accept, v, src, ok, err)
			}
		case ok:
			if src != SourceAccept || !strings.Contains(accept, v) || !validVersion(v) {
				t.Fatalf("Requested(%q) = %q, %v, %v; want a valid substring of the input", accept, v, src, ok)
			}
		default:
			if v != "" || src != SourceNone {
				t.Fatalf("Requested(%q) = %q, %v, %v", accept, v, src, ok)
			}
		}
		// The same header split over two lines at a comma must give the same
		// answer.
		if i := strings.IndexByte(accept, ','); i >= 0 && !strings.Contains(accept, `"`) {
			r2 := &http.Request{Header: http.Header{"Accept": {accept[:i], accept[i+1:]}}}
			v2, _, ok2, err2 := n.Requested(r2, "")
			if v2 != v || ok2 != ok || err2 != err {
				t.Fatalf("split Accept %q: got %q, %v, %v; single line gave %q, %v, %v", accept, v2, ok2, err2, v, ok, err)
			}
		}
	})
}

func FuzzSplitPathVersion(f *testing.F) {
	for _, s := range []string{"/v2/users/1", "/v2.1", "/version/x", "/users", "", "/v1.2.3.4/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		v, rest, ok := SplitPathVersion(path)
		if !ok {
			if v != "" || rest != path {
				t.Fatalf("SplitPathVersion(%q) = %q, %q, false; want \"\", path", path, v, rest)
			}
			return
		}
		if !isPathVersion(v) || !strings.HasPrefix(rest, "/") {
			t.Fatalf("SplitPathVersion(%q) = %q, %q, true", path, v, rest)
		}
		if "/"+v+rest != path && !(rest == "/" && "/"+v == path) {
			t.Fatalf("SplitPathVersion(%q) = %q, %q: does not rebuild the path", path, v, rest)
		}
	})
}

func FuzzResolve(f *testing.F) {
	for _, s := range []string{"v2", "2", "2.1", "^2.1", "~2.1.0", "2.x", ">=2.0 <3", "beta", "gamma", "1 || 3"} {
		f.Add(s)
	}
	r := NewResolver(testNames)
	f.Fuzz(func(t *testing.T, value string) {
		i, err := r.Resolve(value)
		// Plain numbers take a precomputed fast path; it must agree with
		// evaluating the value as a semver constraint.
		if s := strings.TrimLeft(value, "vV"); len(value) <= maxValueLen && len(value)-len(s) <= 1 && s != "" {
			if _, plain, overflow := parseNumber(s); plain && !overflow {
				if _, exact := r.exact[strings.ToLower(value)]; !exact {
					if j, err2 := r.resolveRange(s); j != i || err2 != err {
						t.Fatalf("Resolve(%q) = %d, %v; constraint evaluation = %d, %v", value, i, err, j, err2)
					}
				}
			}
		}
		if err != nil {
			if (err != ErrMalformed && err != ErrNotAcceptable) || i != -1 {
				t.Fatalf("Resolve(%q) = %d, %v", value, i, err)
			}
			return
		}
		if i < 0 || i >= len(testNames) || len(value) > maxValueLen {
			t.Fatalf("Resolve(%q) = %d, nil; out of range", value, i)
		}
		// The answer must be stable (and served from cache for ranges).
		if j, err2 := r.Resolve(value); j != i || err2 != nil {
			t.Fatalf("Resolve(%q) = %d then %d, %v", value, i, j, err2)
		}
	})
}
