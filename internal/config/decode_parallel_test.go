package config

import (
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// manyServicesText is a configuration of n services. With problems, every
// seventh service has one for decoding (an unknown key, a bad duration)
// or, with validate, for validation (an undeclared version, a path prefix
// another service has), so that problems come from every chunk of the
// parallel work.
func manyServicesText(n int, problems, validate bool) string {
	var b strings.Builder
	b.WriteString("upstreams:\n  u1: { targets: [http://127.0.0.1:9001] }\n  u2: { targets: [http://127.0.0.1:9002] }\nservices:\n")
	for i := range n {
		fmt.Fprintf(&b, "  s%d:\n    match: { path_prefix: /s%d }\n    default: v1\n    versions: { v1: { upstream: u1 }, v2: { upstream: u2 } }\n", i, i)
		b.WriteString("    rules:\n      - name: canary\n        match: { header: { X-Canary: always } }\n        version: v2\n")
		switch {
		case !problems || i%7 != 1 && i%7 != 4:
			fmt.Fprintf(&b, "    rollout: { from: v1, to: v2, weight: %d }\n", i%100)
		case validate && i%7 == 1:
			b.WriteString("    rollout: { from: v1, to: v3, weight: 10 }\n")
		case validate:
			fmt.Fprintf(&b, "  dup%d:\n    match: { path_prefix: /s%d }\n    default: v1\n    versions: { v1: { upstream: u1 } }\n", i, i)
		case i%7 == 1:
			b.WriteString("    rollout: { from: v1, to: v2, weight: 10, step_interval: soon }\n")
		default:
			b.WriteString("    mirorr: { to: v2 }\n")
		}
	}
	return b.String()
}

// parseWith parses text with parallelism from min entries on, with at
// least two processors.
func parseWith(t *testing.T, text string, min int) (*Config, error) {
	t.Helper()
	defer func(was int) { parallelMin = was }(parallelMin)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(2, runtime.GOMAXPROCS(0))))
	parallelMin = min
	return Parse("many.yaml", []byte(text))
}

// TestParallelDecodeMatchesSequential: decoding and validating the
// services of a large configuration on several goroutines gives the same
// configuration and the same problems, in the same order, as one
// goroutine.
func TestParallelDecodeMatchesSequential(t *testing.T) {
	const n = 1500
	for _, tc := range []struct {
		name               string
		problems, validate bool
	}{{"valid", false, false}, {"decoding problems", true, false}, {"validation problems", true, true}} {
		t.Run(tc.name, func(t *testing.T) {
			text := manyServicesText(n, tc.problems, tc.validate)
			seq, seqErr := parseWith(t, text, 1<<30)
			par, parErr := parseWith(t, text, 64)
			if (seqErr != nil) != tc.problems {
				t.Fatalf("sequential parse: %v", seqErr)
			}
			if fmt.Sprint(seqErr) != fmt.Sprint(parErr) {
				t.Fatalf("problems differ:\nsequential %v\nparallel   %v", seqErr, parErr)
			}
			if !reflect.DeepEqual(seq, par) {
				t.Fatal("the configurations differ")
			}
			// Parse gives each service its defaults as it decodes it: the
			// same as defaults applied afterwards.
			if !tc.problems {
				c, err := Decode("many.yaml", []byte(text))
				if err != nil {
					t.Fatal(err)
				}
				c.ApplyDefaults()
				if !reflect.DeepEqual(c, par) {
					t.Fatal("Parse differs from Decode and ApplyDefaults")
				}
			}
			if want := 2 * (n / 7); tc.problems && len(Flatten(parErr)) < want {
				t.Fatalf("%d problems, want at least %d:\n%v", len(Flatten(parErr)), want, parErr)
			}
		})
	}
}
