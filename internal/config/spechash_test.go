package config

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

const digestYAML = `
upstreams:
  u1: { targets: [http://127.0.0.1:9001] }
  u2: { targets: [http://127.0.0.1:9002] }
services:
  users:
    match: { path_prefix: /users }
    default: v1
    versions:
      v1: { upstream: u1, lifecycle: deprecated, sunset: 2027-06-30T00:00:00Z, successor: v2 }
      v2: { upstream: u2 }
    rules:
      - name: beta
        match: { header: { X-Beta: "1", X-Team: core }, method: [GET, POST] }
        experiment: { arms: { v1: 50, v2: 50 } }
    rollout:
      from: v1
      to: v2
      weight: 10
      steps: [10, 25, 50, 100]
      step_interval: 30s
      analysis: { window: 10s, min_requests: 20, max_error_rate: 0.05, max_latency_p95: 500ms }
  orders:
    match: { path_prefix: /orders }
    default: v1
    versions: { v1: { upstream: u1 } }
`

// digestYAMLReordered is digestYAML with every mapping's keys in another
// order (and so every position moved).
const digestYAMLReordered = `
services:
  orders:
    versions: { v1: { upstream: u1 } }
    default: v1
    match: { path_prefix: /orders }
  users:
    rollout:
      analysis: { max_latency_p95: 500ms, max_error_rate: 0.05, min_requests: 20, window: 10s }
      step_interval: 30s
      steps: [10, 25, 50, 100]
      weight: 10
      to: v2
      from: v1
    rules:
      - experiment: { arms: { v2: 50, v1: 50 } }
        match: { method: [GET, POST], header: { X-Team: core, X-Beta: "1" } }
        name: beta
    versions:
      v2: { upstream: u2 }
      v1: { successor: v2, sunset: 2027-06-30T00:00:00Z, lifecycle: deprecated, upstream: u1 }
    default: v1
    match: { path_prefix: /users }
upstreams:
  u2: { targets: [http://127.0.0.1:9002] }
  u1: { targets: [http://127.0.0.1:9001] }
`

func digestOf(t *testing.T, text, service string) SpecDigest {
	t.Helper()
	cfg, err := Parse("test.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Services[service].Digest()
}

func TestDigestIgnoresKeyOrder(t *testing.T) {
	a, b := digestOf(t, digestYAML, "users"), digestOf(t, digestYAMLReordered, "users")
	if a.Hash != b.Hash || len(a.Diff(b)) != 0 {
		t.Fatalf("reordered keys changed the digest: %s vs %s, parts %v", a.Hash, b.Hash, a.Diff(b))
	}
	if o := digestOf(t, digestYAML, "orders"); o.Hash == a.Hash {
		t.Fatal("two different services have one hash")
	}
}

func TestDigestNamesWhatChanged(t *testing.T) {
	base := digestOf(t, digestYAML, "users")
	for _, tc := range []struct{ old, new, part string }{
		{"steps: [10, 25, 50, 100]", "steps: [10, 20, 50, 100]", "rollout.steps"},
		{"max_error_rate: 0.05", "max_error_rate: 0.01", "rollout.analysis"},
		{"v2: { upstream: u2 }", "v2: { upstream: u2, lifecycle: deprecated }", "versions.v2"},
		{`X-Team: core`, `X-Team: edge`, "rules"},
		{"to: v2", "to: v2\n      on_failure: pause", "rollout.on_failure"},
	} {
		text := strings.Replace(digestYAML, tc.old, tc.new, 1)
		if text == digestYAML {
			t.Fatalf("%q is not in the config", tc.old)
		}
		d := digestOf(t, text, "users")
		if d.Hash == base.Hash || !slices.Equal(base.Diff(d), []string{tc.part}) {
			t.Errorf("%s → %s: hash %s (base %s), diff %v, want [%s]", tc.old, tc.new, d.Hash, base.Hash, base.Diff(d), tc.part)
		}
	}
	// How this member receives the service's requests is its own.
	moved := digestOf(t, strings.Replace(digestYAML, "path_prefix: /users", "path_prefix: /people", 1), "users")
	if moved.Hash != base.Hash {
		t.Fatal("match changed the digest")
	}
}

// TestDigestCoversEveryField: changing any value of a service changes its
// digest, except the fields left out on purpose and positions.
func TestDigestCoversEveryField(t *testing.T) {
	build := func() *Service {
		s := &Service{}
		fill(reflect.ValueOf(s).Elem(), 3)
		return s
	}
	a := build().Digest()
	ignored := []string{"Service.Name", "Service.Match", "Service.Negotiate", "Service.Listen", "Service.QN", "Service.Limits", "Service.Clients", "Service.Rollout.Notify"}
	count := 0
	leaves(reflect.ValueOf(build()).Elem(), "Service", func(path string, _ func()) {
		b := build()
		leaves(reflect.ValueOf(b).Elem(), "Service", func(p string, change func()) {
			if p == path {
				change()
			}
		})
		skip := slices.ContainsFunc(ignored, func(prefix string) bool { return strings.HasPrefix(path, prefix) })
		if strings.HasPrefix(path, "Service.Versions[k].Name") {
			skip = true // the map key is the name
		}
		if got := b.Digest().Hash != a.Hash; got != !skip {
			t.Errorf("changing %s: digest changed %v, want %v", path, got, !skip)
		}
		count++
	})
	if count < 60 {
		t.Fatalf("only %d values were changed", count)
	}
}
