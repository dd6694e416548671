package negotiate

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

var testNames = []string{"v1", "v2", "v2.1", "2.1.3", "v2.2.0", "v3.0.0-beta.1", "beta", "V4", "v5.0.0+build7"}

func TestResolve(t *testing.T) {
	r := NewResolver(testNames)
	idx := func(name string) int {
		for i, n := range testNames {
			if n == name {
				return i
			}
		}
		t.Fatalf("no test name %q", name)
		return -1
	}
	for _, tc := range []struct {
		value string
		want  string // declared name, or "" when err is set
		err   error
	}{
		// Exact names, case-insensitive.
		{"v1", "v1", nil},
		{"V1", "v1", nil},
		{"v2", "v2", nil}, // exact beats "highest 2.x"
		{"2.1.3", "2.1.3", nil},
		{"beta", "beta", nil},
		{"BETA", "beta", nil},
		{"v3.0.0-beta.1", "v3.0.0-beta.1", nil},
		{"v4", "V4", nil},
		{"v5.0.0+build7", "v5.0.0+build7", nil},

		// Plain numbers select the highest match.
		{"1", "v1", nil},
		{"2", "v2.2.0", nil},
		{"V2", "v2", nil}, // exact, case-insensitive
		{"2.1", "2.1.3", nil},
		{"v2.1", "v2.1", nil}, // exact
		{"V2.1", "v2.1", nil}, // exact
		{"2.0", "v2", nil},
		{"2.0.0", "v2", nil},
		{"2.1.0", "v2.1", nil},
		{"2.2", "v2.2.0", nil},
		{"02", "v2.2.0", nil},
		{"4", "V4", nil},
		{"5", "v5.0.0+build7", nil},
		{"5.0.0", "v5.0.0+build7", nil},
		{"3", "", ErrNotAcceptable}, // only a pre-release 3.x exists
		{"6", "", ErrNotAcceptable},
		{"2.3", "", ErrNotAcceptable},
		{"2.1.1", "", ErrNotAcceptable},
		{"99999999999999999999", "", ErrMalformed}, // overflows uint64

		// Ranges.
		{"^2.1", "v2.2.0", nil},
		{"^2", "v2.2.0", nil},
		{"v^2.1", "v2.2.0", nil},
		{"~2.1.0", "2.1.3", nil},
		{"~2.1", "2.1.3", nil},
		{"~2.0", "v2", nil},
		{"2.x", "v2.2.0", nil},
		{"2.1.x", "2.1.3", nil},
		{"2.*", "v2.2.0", nil},
		{">=2.0 <3", "v2.2.0", nil},
		{">=2.0, <2.2", "2.1.3", nil},
		{"<2", "v1", nil},
		{">=1", "v5.0.0+build7", nil},
		{"*", "v5.0.0+build7", nil},
		{"1 || 2.1", "2.1.3", nil},
		{"^3.0.0-beta", "v3.0.0-beta.1", nil},
		{"3.0.0-beta.1", "v3.0.0-beta.1", nil},
		{"^3", "", ErrNotAcceptable},
		{">=6", "", ErrNotAcceptable},
		{"~2.3", "", ErrNotAcceptable},

		// Malformed.
		{"", "", ErrMalformed},
		{"v", "", ErrMalformed},
		{"V", "", ErrMalformed},
		{"gamma", "", ErrMalformed},
		{"2.", "", ErrMalformed},
		{"2..1", "", ErrMalformed},
		{"1.2.3.4", "", ErrMalformed},
		{"^^2", "", ErrMalformed},
		{"2-", "", ErrMalformed},
		{"vv2", "", ErrMalformed},
		{">=", "", ErrMalformed},
		{strings.Repeat("1", 65), "", ErrMalformed},
		{"^" + strings.Repeat("1", 64), "", ErrMalformed},
	} {
		t.Run(tc.value, func(t *testing.T) {
			// Twice: the second run exercises the range cache.
			for range 2 {
				got, err := r.Resolve(tc.value)
				if tc.err != nil {
					if err != tc.err || got != -1 {
						t.Fatalf("Resolve(%q) = %d, %v; want -1, %v (unwrapped)", tc.value, got, err, tc.err)
					}
					continue
				}
				if err != nil || got != idx(tc.want) {
					t.Fatalf("Resolve(%q) = %d, %v; want %d (%s)", tc.value, got, err, idx(tc.want), tc.want)
				}
			}
		})
	}
}

func TestResolveEmptyAndDuplicates(t *testing.T) {
	r := NewResolver(nil)
	if _, err := r.Resolve("2"); err != ErrNotAcceptable {
		t.Fatalf("Resolve on no names = %v, want ErrNotAcceptable", err)
	}
	if _, err := r.Resolve("^2"); err != ErrNotAcceptable {
		t.Fatalf("Resolve range on no names = %v, want ErrNotAcceptable", err)
	}
	if _, err := r.Resolve("nope"); err != ErrMalformed {
		t.Fatalf("Resolve garbage on no names = %v, want ErrMalformed", err)
	}

	// Collisions: first declared wins, both for names and equal versions.
	r = NewResolver([]string{"v2", "V2", "2.0.0"})
	for _, v := range []string{"v2", "V2", "2", "2.0", "^2", "2.x"} {
		if got, err := r.Resolve(v); err != nil || got != 0 {
			t.Errorf("Resolve(%q) = %d, %v; want 0", v, got, err)
		}
	}
	if got, err := r.Resolve("2.0.0"); err != nil || got != 2 {
		t.Errorf("Resolve(2.0.0) = %d, %v; want exact 2", got, err)
	}
}

func TestResolveCopiesNames(t *testing.T) {
	names := []string{"v1", "v2"}
	r := NewResolver(names)
	names[1] = "v9"
	if got, err := r.Resolve("v2"); err != nil || got != 1 {
		t.Fatalf("Resolve(v2) after caller mutated names = %d, %v", got, err)
	}
}

// TestResolveFastPathMatchesConstraints checks that the precomputed plain
// number table agrees with evaluating the same value as a semver constraint.
func TestResolveFastPathMatchesConstraints(t *testing.T) {
	sets := [][]string{
		testNames,
		{"1.0.0", "1.2.0", "1.2.7", "1.10.0", "2.0.0-rc.1", "0.9", "v0.0.1"},
		{"v10", "v9.9.9", "v10.0.1", "alpha"},
	}
	for si, names := range sets {
		r := NewResolver(names)
		for _, base := range []string{"0", "1", "2", "3", "9", "10", "11"} {
			for _, value := range []string{base, base + ".0", base + ".1", base + ".2", base + ".9", base + ".10", base + ".2.7", base + ".0.0", base + ".0.1", "0" + base} {
				if _, exact := r.exact[strings.ToLower(value)]; exact {
					continue // exact names are covered by the exact-name tests
				}
				t.Run(fmt.Sprintf("%d/%s", si, value), func(t *testing.T) {
					got, gotErr := r.Resolve(value)
					want, wantErr := r.resolveRange(value)
					if got != want || gotErr != wantErr {
						t.Fatalf("Resolve(%q) = %d, %v; constraint evaluation = %d, %v", value, got, gotErr, want, wantErr)
					}
				})
			}
		}
	}
}

func TestResolveZeroAllocs(t *testing.T) {
	r := NewResolver(testNames)
	for _, value := range []string{"v2", "V2", "beta", "2.1.3", "2", "2.1", "v2.1", "V2.2", "1", "6", "2.3", "", "gamma", strings.Repeat("x", 100)} {
		t.Run(value, func(t *testing.T) {
			allocs := testing.AllocsPerRun(100, func() {
				r.Resolve(value)
			})
			if allocs != 0 {
				t.Fatalf("Resolve(%q) allocated %v times per run, want 0", value, allocs)
			}
		})
	}
	// A range allocates once, then is served from the cache.
	r.Resolve("^2.1")
	if allocs := testing.AllocsPerRun(100, func() { r.Resolve("^2.1") }); allocs != 0 {
		t.Fatalf("cached range allocated %v times per run, want 0", allocs)
	}
}

func TestRangeCacheBounded(t *testing.T) {
	r := NewResolver(testNames)
	for i := range 3 * rangeCacheSize {
		if _, err := r.Resolve(fmt.Sprintf(">=1.%d.0", i)); err != nil {
			t.Fatalf("Resolve: %v", err)
		}
	}
	if n := len(r.cache.m); n > rangeCacheSize {
		t.Fatalf("cache holds %d entries, want at most %d", n, rangeCacheSize)
	}
	// Evicted entries are recomputed correctly.
	if got, err := r.Resolve(">=1.0.0"); err != nil || testNames[got] != "v5.0.0+build7" {
		t.Fatalf("Resolve(>=1.0.0) = %d, %v", got, err)
	}
}

func TestResolveConcurrent(t *testing.T) {
	r := NewResolver(testNames)
	values := []string{"v2", "2", "^2.1", "~2.1.0", ">=2 <3", "gamma", "^9", "2.x"}
	want := make([]int, len(values))
	wantErr := make([]error, len(values))
	for i, v := range values {
		want[i], wantErr[i] = NewResolver(testNames).Resolve(v)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				k := (g + i) % len(values)
				got, err := r.Resolve(values[k])
				if got != want[k] || !errors.Is(err, wantErr[k]) {
					t.Errorf("Resolve(%q) = %d, %v; want %d, %v", values[k], got, err, want[k], wantErr[k])
					return
				}
			}
		}()
	}
	wg.Wait()
}
