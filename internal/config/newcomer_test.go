package config

import (
	"strings"
	"testing"
)

// TestNewcomerMistakes: mistakes a first configuration makes get a message
// that says what to write, at the place it is wrong.
func TestNewcomerMistakes(t *testing.T) {
	const base = "upstreams:\n  a: {targets: [http://127.0.0.1:1]}\n  b: {targets: [http://127.0.0.1:2]}\n" +
		"services:\n  users:\n    match: {path_prefix: /}\n    default: v1\n    versions: {v1: {upstream: a}, v2: {upstream: b}}\n"
	for _, c := range []struct{ name, yaml, want string }{
		{"empty file", "", "c.yaml:1:1: the configuration is empty"},
		{"only comments", "# to do\n\n", "c.yaml:1:1: the configuration is empty"},
		{"one step as a number", base + "    rollout: {from: v1, to: v2, step_interval: 1s, steps: 10}\n",
			"c.yaml:9:59: services.users.rollout.steps: expected a list of numbers such as [10], got the single number 10"},
		{"target without a scheme", strings.Replace(base, "http://127.0.0.1:1", "127.0.0.1:1", 1),
			`c.yaml:2:17: upstreams.a.targets[0]: "127.0.0.1:1" has no scheme; write http://127.0.0.1:1 or https://127.0.0.1:1`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(c.yaml))
			if err == nil || !strings.HasPrefix(err.Error(), c.want) {
				t.Fatalf("Parse: %v\nwant an error starting %q", err, c.want)
			}
		})
	}
	// A single string still stands for a list of one.
	if _, err := Parse("c.yaml", []byte(strings.Replace(base, "[http://127.0.0.1:2]", "http://127.0.0.1:2", 1))); err != nil {
		t.Fatalf("a lone target: %v", err)
	}
}
