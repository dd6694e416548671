package route

import (
	"fmt"
	"github.com/turnout-gw/turnout/internal/config"
	"net/http"
	"strings"
	"testing"
)

// noExprYAML is testYAML without its expression rule: expressions are
// evaluated by expr-lang's VM, which allocates; every other condition does not.
func noExprYAML() string {
	return strings.Replace(testYAML, `      - name: expr
        match: { expr: 'Header("X-Tier") == "gold" && Method == "POST"' }
        version: v2.1
`, "", 1)
}

// manyServices builds a configuration with n services (plus the test
// services), so lookups can be shown not to grow with the table.
func manyServices(n int) string {
	var b strings.Builder
	b.WriteString(noExprYAML())
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  svc%d:\n    match: { path_prefix: /svc%d }\n    default: v1\n    versions:\n      v1: { upstream: u1 }\n      v2: { upstream: u2 }\n", i, i)
	}
	return b.String()
}

func benchDecide(b *testing.B, services int, r *http.Request, want string) {
	tb := mustTable(b, manyServices(services))
	if d := tb.Decide(r); d.Version == nil || d.Version.Name != want {
		b.Fatalf("decision %+v, want %s", d, want)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = tb.Decide(r)
	}
}

// BenchmarkDecide measures the three hot decisions at 10 and 10,000
// services: a header pin, a rule match and a sticky split.
func BenchmarkDecide(b *testing.B) {
	for _, n := range []int{10, 10000} {
		b.Run(fmt.Sprintf("pin/services=%d", n), func(b *testing.B) {
			benchDecide(b, n, req("GET", "/users/1", "X-API-Version: 2"), "v2.1")
		})
		b.Run(fmt.Sprintf("rule/services=%d", n), func(b *testing.B) {
			benchDecide(b, n, req("GET", "/users/1", "X-Env: canary"), "v2")
		})
		b.Run(fmt.Sprintf("split/services=%d", n), func(b *testing.B) {
			benchDecide(b, n, req("GET", "/users/1", "X-User-ID: alice"), "v1")
		})
	}
}

// TestDecideAllocs holds the zero-allocation promise for the hot decisions.
func TestDecideAllocs(t *testing.T) {
	tb := mustTable(t, noExprYAML())
	for name, r := range map[string]*http.Request{
		"pin":         req("GET", "/users/1", "X-API-Version: 2"),
		"pin accept":  req("GET", "/users/1", "Accept: application/vnd.example.v2+json"),
		"pin path":    req("GET", "/v2/users/1"),
		"rule":        req("GET", "/users/1", "X-Env: canary"),
		"rule cookie": req("GET", "/users/1", "Cookie: beta=yes"),
		"split":       req("GET", "/users/1", "X-User-ID: alice"),
		"no key":      req("GET", "/users/1"),
		"experiment":  req("GET", "/users/checkout", "X-User-ID: bob"),
	} {
		if a := testing.AllocsPerRun(200, func() { _ = tb.Decide(r) }); a != 0 {
			t.Errorf("%s: %v allocs per Decide, want 0", name, a)
		}
	}
}

// BenchmarkCompile measures compiling a 10,000-service configuration into
// a routing table (the reload path's main cost after parsing).
func BenchmarkCompile(b *testing.B) {
	c, err := config.Parse("many.yaml", []byte(manyServices(10000)))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Compile(c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRecompile measures compiling the same 10,000 services again
// with the previous table at hand (WithPrevious) and every rollout at a new
// weight, as a reload that moves rollouts forward does.
func BenchmarkRecompile(b *testing.B) {
	c, err := config.Parse("many.yaml", []byte(manyServices(10000)))
	if err != nil {
		b.Fatal(err)
	}
	prev, err := Compile(c)
	if err != nil {
		b.Fatal(err)
	}
	w := prev.Weights()
	for name := range w {
		w[name] = 42
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Compile(c, WithPrevious(prev), WithWeights(w)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParse measures parsing and validating the same configuration.
func BenchmarkParse(b *testing.B) {
	text := []byte(manyServices(10000))
	b.ReportAllocs()
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := config.Parse("many.yaml", text); err != nil {
			b.Fatal(err)
		}
	}
}
