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

// TestMisindentedLine: a key indented to no enclosing block's column is
// reported on its own line (yaml.v3 names the line where the enclosing
// mapping starts), with the indentations that fit.
func TestMisindentedLine(t *testing.T) {
	for _, c := range []struct{ name, yaml, want string }{
		{"under a mapping", "upstreams:\n  a:\n    targets: [http://127.0.0.1:1]\n   timeout: 1s\n",
			"c.yaml:4:4: invalid YAML: this line is indented by 3 spaces, which matches none of the blocks around it (indented by 0 or 2)"},
		{"seven lines below", "upstreams:\n  a: {targets: [http://127.0.0.1:1]}\nservices:\n  users:\n    match: {path_prefix: /}\n" +
			"    default: v1\n    # the versions\n    versions:\n      v1: {upstream: a}\n\n     v2: {upstream: a}\n",
			"c.yaml:11:6: invalid YAML: this line is indented by 5 spaces, which matches none of the blocks around it (indented by 0, 2 or 4)"},
		{"in a list item", "services:\n  users:\n    rules:\n      - name: a\n        version: v1\n       match: {path_prefix: /a}\n",
			"c.yaml:6:8: invalid YAML: this line is indented by 7 spaces"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(c.yaml))
			if err == nil || !strings.HasPrefix(err.Error(), c.want) {
				t.Fatalf("Parse: %v\nwant an error starting %q", err, c.want)
			}
		})
	}
	// A block scalar's text is not a block: a program indented its own way
	// stays valid.
	lines, _, _, ok := misindented([]byte("a:\n  b: |\n     x\n   y\n  c: 1\n"), 1)
	if ok {
		t.Fatalf("a block scalar's text was read as a misindented key at line %d", lines)
	}
}

// TestUpstreamH2Pings: the PING settings the pools and the xDS export
// read, defaults filled in; a written 0 interval sends none.
func TestUpstreamH2Pings(t *testing.T) {
	for _, c := range []struct {
		yaml              string
		interval, timeout string
	}{
		{"", "15s", "10s"},
		{"h2: {ping_timeout: 3s}\n", "15s", "3s"},
		{"h2: {ping_interval: 5s, ping_timeout: 2s}\n", "5s", "2s"},
		{"h2: {ping_interval: 0s}\n", "0s", "10s"},
	} {
		cfg, err := Parse("c.yaml", []byte("upstreams:\n  a:\n    targets: [http://127.0.0.1:1]\n    protocol: h2c\n"+indentBy(c.yaml, "    ")+
			"services:\n  s: {match: {path_prefix: /}, default: v1, versions: {v1: {upstream: a}}}\n"))
		if err != nil {
			t.Fatal(err)
		}
		i, to := cfg.Upstreams["a"].H2.Pings()
		if i.String() != c.interval || to.String() != c.timeout {
			t.Errorf("%q: interval %v, timeout %v; want %s, %s", c.yaml, i, to, c.interval, c.timeout)
		}
	}
}

// indentBy puts prefix before every line of s.
func indentBy(s, prefix string) string {
	if s == "" {
		return ""
	}
	return prefix + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n"+prefix) + "\n"
}
