package route

import (
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/turnout-gw/turnout/internal/config"
)

// TestCompileSharesNameTables: services that declare the same version names
// share one resolver and 406 version list.
func TestCompileSharesNameTables(t *testing.T) {
	tb := mustTable(t, manyServices(3))
	a, b := tb.Service("svc0"), tb.Service("svc2")
	if a.resolver != b.resolver || &a.versionsJS[0] != &b.versionsJS[0] {
		t.Error("services with the same version names do not share their name tables")
	}
	if tb.Service("users").resolver == a.resolver {
		t.Error("services with different version names share a resolver")
	}
}

// decisions summarises how tb decides a fixed set of requests.
func decisions(tb *Table) []string {
	var out []string
	for _, r := range []*http.Request{
		req("GET", "/users/1"), req("GET", "/users/1", "X-API-Version: ^2.0"), req("GET", "/v0.9/users/1"),
		req("GET", "/users/1", "X-Env: canary"), req("POST", "/users/1", "X-Tier: gold"),
		req("GET", "/users/checkout", "X-User-ID: u7"), req("GET", "/users/1", "X-User-ID: u7"),
		req("GET", "/orders/1?version=2", "Host: api.example.com"), req("GET", "/other"),
	} {
		d := tb.Decide(r)
		s := fmt.Sprintf("%v %d %v %s", d.Reason, d.Status, d.Path, d.RedirectLocation(r))
		if d.Service != nil {
			s += " " + d.Service.Name
		}
		if d.Version != nil {
			s += " " + d.Version.Name
		}
		if d.Rule != nil {
			s += " " + d.Rule.Name
		}
		out = append(out, s)
	}
	return out
}

// TestCompileReusesUnchangedServices: with WithPrevious, a service written
// as before (even moved in the file, or at another rollout weight) keeps
// its compiled versions and rules but points at the new configuration and
// splits at the new weight; a changed service is compiled again; and the
// table decides exactly as one compiled from scratch.
func TestCompileReusesUnchangedServices(t *testing.T) {
	rnd := WithRand(func() uint64 { return 12345 })
	prev := mustTable(t, testYAML, rnd)
	// Move everything down two lines, change the rollout weight of users
	// and the default of orders.
	text := strings.Replace(testYAML, "services:\n", "services:\n  # moved\n  # down\n", 1)
	text = strings.Replace(text, "weight: 10", "weight: 30", 1)
	text = strings.Replace(text, "    default: v1\n    versions:\n      v1: { upstream: u3 }\n      v2:", "    default: v2\n    versions:\n      v1: { upstream: u3 }\n      v2:", 1)
	c, err := config.Parse("test.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	next, err := Compile(c, rnd, WithPrevious(prev))
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := Compile(c, rnd)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := decisions(next), decisions(fresh); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("reusing table decides\n%s\nfrom scratch\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	users, old := next.Service("users"), prev.Service("users")
	if users == old || users.Version("v2") != old.Version("v2") || users.resolver != old.resolver {
		t.Error("unchanged service users was compiled again")
	}
	if users.Spec != c.Services["users"] || users.Rollout.spec != c.Services["users"].Rollout {
		t.Error("reused service points at the previous configuration")
	}
	for i, r := range users.Rules {
		if r.spec != c.Services["users"].Rules[i] || r == old.Rules[i] {
			t.Errorf("reused rule %d points at the previous configuration", i)
		}
	}
	if users.Rollout.Weight != 30 || old.Rollout.Weight != 10 {
		t.Errorf("weights %v (new) and %v (previous), want 30 and 10", users.Rollout.Weight, old.Rollout.Weight)
	}
	if pos := users.Spec.PosOf("default"); pos.Line != prev.Service("users").Spec.PosOf("default").Line+2 {
		t.Errorf("reused service's positions %v are not the new file's", pos)
	}
	if orders := next.Service("orders"); orders.Version("v1") == prev.Service("orders").Version("v1") || orders.Default.Name != "v2" {
		t.Error("changed service orders was not compiled again")
	}

	// Weights the rollout engine supplies apply to reused services too.
	again, err := Compile(c, rnd, WithPrevious(next), WithWeights(map[string]float64{"users": 55}))
	if err != nil {
		t.Fatal(err)
	}
	if s := again.Service("users"); s.Rollout.Weight != 55 || s.Version("v1") != old.Version("v1") {
		t.Errorf("weight %v after WithWeights on a reused service, want 55", s.Rollout.Weight)
	}
}

// TestRecompileManyServices: a table of thousands of services, compiled
// with the previous one (the unchanged services rebound by several
// goroutines), reuses each unchanged service at its new weight, compiles
// the changed ones again, and decides as a table compiled from scratch.
func TestRecompileManyServices(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(2, runtime.GOMAXPROCS(0))))
	const n = 3 * parallelRebind
	text := func(weight int, changed func(i int) bool) string {
		var b strings.Builder
		b.WriteString("upstreams:\n  u1: { targets: [http://127.0.0.1:9001] }\n  u2: { targets: [http://127.0.0.1:9002] }\nservices:\n")
		for i := range n {
			def := "v1"
			if changed(i) {
				def = "v2"
			}
			fmt.Fprintf(&b, "  s%d:\n    match: { path_prefix: /s%d }\n    default: %s\n    versions: { v1: { upstream: u1 }, v2: { upstream: u2 } }\n", i, i, def)
			fmt.Fprintf(&b, "    rules: [{ name: canary, match: { header: { X-Canary: always } }, version: v2 }]\n    rollout: { from: v1, to: v2, weight: %d }\n", weight)
		}
		return b.String()
	}
	rnd := WithRand(func() uint64 { return 7 })
	prev := mustTable(t, text(10, func(int) bool { return false }), rnd)
	c, err := config.Parse("many.yaml", []byte(text(20, func(i int) bool { return i%97 == 0 })))
	if err != nil {
		t.Fatal(err)
	}
	next, err := Compile(c, rnd, WithPrevious(prev), WithWeights(map[string]float64{"s5": 33}))
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := Compile(c, rnd, WithWeights(map[string]float64{"s5": 33}))
	if err != nil {
		t.Fatal(err)
	}
	if len(next.Services()) != n {
		t.Fatalf("%d services, want %d", len(next.Services()), n)
	}
	for _, s := range next.Services() {
		name := s.Name
		old, want := prev.Service(name), fresh.Service(name)
		reused := s.Version("v1") == old.Version("v1")
		if changed := s.Default.Name == "v2"; reused == changed || s.Spec != c.Services[name] || s.Rules[0].spec != c.Services[name].Rules[0] {
			t.Fatalf("%s: reused %v, default %s, spec of this configuration %v", name, reused, s.Default.Name, s.Spec == c.Services[name])
		}
		if a, b := s.Rollout.split.Arms[0], want.Rollout.split.Arms[0]; s.Rollout.Weight != want.Rollout.Weight || a.Weight != b.Weight || a.upto != b.upto || a.Version.Name != b.Version.Name {
			t.Fatalf("%s: weight %v (arms %v), want %v (arms %v)", name, s.Rollout.Weight, s.Rollout.split.Arms, want.Rollout.Weight, want.Rollout.split.Arms)
		}
	}
	if w := next.Service("s5").Rollout.Weight; w != 33 {
		t.Errorf("s5 at weight %v, want the engine's 33", w)
	}
}
