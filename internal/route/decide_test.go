package route

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/turnout-gw/turnout/internal/config"
)

const testYAML = `
upstreams:
  u1: { targets: [http://127.0.0.1:9001] }
  u2: { targets: [http://127.0.0.1:9002] }
  u3: { targets: [http://127.0.0.1:9003] }
services:
  users:
    match: { path_prefix: /users }
    negotiate: { accept_vendor: application/vnd.example }
    default: v1
    versions:
      v1: { upstream: u1, lifecycle: deprecated, sunset: 2027-06-30T00:00:00Z, successor: v2 }
      v2: { upstream: u2 }
      v2.1: { upstream: u2 }
      v0: { upstream: u1, lifecycle: gone }
      v0.9: { upstream: u1, lifecycle: redirect, successor: v2 }
    rules:
      - name: testers
        match: { header: { X-Env: canary } }
        version: v2
      - name: beta-cookie
        match: { cookie: { beta: "yes" }, method: [GET] }
        version: v2.1
      - name: by-query
        match: { query: { flavour: new } }
        version: v2
      - name: expr
        match: { expr: 'Header("X-Tier") == "gold" && Method == "POST"' }
        version: v2.1
      - name: checkout-ab
        match: { path_prefix: /users/checkout }
        experiment: { sticky: header:X-User-ID, arms: { v1: 50, v2: 50 } }
    rollout:
      from: v1
      to: v2
      weight: 10
      sticky: header:X-User-ID
  orders:
    match: { hosts: [api.example.com], path_prefix: /orders }
    negotiate: { sources: [query, header, path], strip_path_version: false }
    default: v1
    versions:
      v1: { upstream: u3 }
      v2: { upstream: u3 }
  root:
    match: { path_prefix: / }
    negotiate: { sources: [header] }
    default: v1
    versions:
      v1: { upstream: u3 }
`

func mustTable(t testing.TB, text string, opts ...Option) *Table {
	t.Helper()
	c, err := config.Parse("test.yaml", []byte(text))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	tb, err := Compile(c, opts...)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return tb
}

func req(method, target string, headers ...string) *http.Request {
	r := httptest.NewRequest(method, target, nil)
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		if strings.EqualFold(k, "Host") {
			r.Host = strings.TrimSpace(v)
			continue
		}
		r.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	return r
}

func TestDecide(t *testing.T) {
	tb := mustTable(t, testYAML, WithRand(func() uint64 { return 999_999 })) // per-request draws land in `from`
	cases := []struct {
		name    string
		r       *http.Request
		service string
		version string
		reason  Reason
		status  int
		path    string
		rule    string
	}{
		{"default through rollout", req("GET", "/users/1"), "users", "v1", ReasonRollout, 0, "/users/1", ""},
		{"header pin number", req("GET", "/users/1", "X-API-Version: 2"), "users", "v2.1", ReasonPinned, 0, "/users/1", ""},
		{"header pin exact", req("GET", "/users/1", "X-API-Version: v2"), "users", "v2", ReasonPinned, 0, "/users/1", ""},
		{"header pin minor", req("GET", "/users/1", "X-API-Version: 2.0"), "users", "v2", ReasonPinned, 0, "/users/1", ""},
		{"header caret range", req("GET", "/users/1", "X-API-Version: ^2.0"), "users", "v2.1", ReasonPinned, 0, "/users/1", ""},
		{"header tilde range", req("GET", "/users/1", "X-API-Version: ~2.0.0"), "users", "v2", ReasonPinned, 0, "/users/1", ""},
		{"header x range", req("GET", "/users/1", "X-API-Version: 2.x"), "users", "v2.1", ReasonPinned, 0, "/users/1", ""},
		{"accept vendor", req("GET", "/users/1", "Accept: application/vnd.example.v2+json"), "users", "v2.1", ReasonPinned, 0, "/users/1", ""},
		{"accept param", req("GET", "/users/1", "Accept: application/json; version=1"), "users", "v1", ReasonPinned, 0, "/users/1", ""},
		{"accept q-values", req("GET", "/users/1", "Accept: application/vnd.example.v1+json;q=0.5, application/vnd.example.v2.0+json"), "users", "v2", ReasonPinned, 0, "/users/1", ""},
		{"path pin stripped", req("GET", "/v2/users/1"), "users", "v2", ReasonPinned, 0, "/users/1", ""},
		{"path pin not stripped", req("GET", "/v2/orders/7", "Host: api.example.com"), "orders", "v2", ReasonPinned, 0, "/v2/orders/7", ""},
		{"query pin", req("GET", "/users/1?version=2.0"), "users", "v2", ReasonPinned, 0, "/users/1", ""},
		{"header beats query", req("GET", "/users/1?version=1", "X-API-Version: 2.0"), "users", "v2", ReasonPinned, 0, "/users/1", ""},
		{"orders query beats header", req("GET", "/orders/1?version=2", "Host: api.example.com", "X-API-Version: 1"), "orders", "v2", ReasonPinned, 0, "/orders/1", ""},
		{"not acceptable", req("GET", "/users/1", "X-API-Version: 3"), "users", "", 0, 406, "/users/1", ""},
		{"malformed", req("GET", "/users/1", "X-API-Version: !!"), "users", "", 0, 400, "/users/1", ""},
		{"gone", req("GET", "/users/1", "X-API-Version: v0"), "users", "v0", ReasonPinned, 410, "/users/1", ""},
		{"redirect", req("GET", "/v0.9/users/1"), "users", "v0.9", ReasonPinned, 308, "/users/1", ""},
		{"rule header", req("GET", "/users/1", "X-Env: canary"), "users", "v2", ReasonRule, 0, "/users/1", "testers"},
		{"rule cookie and method", req("GET", "/users/1", "Cookie: a=b; beta=yes"), "users", "v2.1", ReasonRule, 0, "/users/1", "beta-cookie"},
		{"rule cookie wrong method", req("PUT", "/users/1", "Cookie: beta=yes"), "users", "v1", ReasonRollout, 0, "/users/1", ""},
		{"rule query", req("GET", "/users/1?flavour=new"), "users", "v2", ReasonRule, 0, "/users/1", "by-query"},
		{"rule expr", req("POST", "/users/1", "X-Tier: gold"), "users", "v2.1", ReasonRule, 0, "/users/1", "expr"},
		{"rule expr no match", req("GET", "/users/1", "X-Tier: gold"), "users", "v1", ReasonRollout, 0, "/users/1", ""},
		{"pin beats rule", req("GET", "/users/1", "X-Env: canary", "X-API-Version: v1"), "users", "v1", ReasonPinned, 0, "/users/1", ""},
		{"experiment", req("GET", "/users/checkout", "X-User-ID: u1"), "users", "", ReasonExperiment, 0, "/users/checkout", "checkout-ab"},
		{"host match", req("GET", "/orders/1", "Host: API.example.com:8443"), "orders", "v1", ReasonDefault, 0, "/orders/1", ""},
		{"host mismatch falls to root", req("GET", "/orders/1", "Host: other.example.com"), "root", "v1", ReasonDefault, 0, "/orders/1", ""},
		{"segment aligned prefix", req("GET", "/usersX"), "root", "v1", ReasonDefault, 0, "/usersX", ""},
		{"trailing slash", req("GET", "/users/"), "users", "v1", ReasonRollout, 0, "/users/", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := tb.Decide(c.r)
			if d.Service == nil || d.Service.Name != c.service {
				t.Fatalf("service = %v, want %s", d.Service, c.service)
			}
			if d.Status != c.status {
				t.Fatalf("status = %d (%v), want %d", d.Status, d.Err, c.status)
			}
			if c.version != "" && (d.Version == nil || d.Version.Name != c.version) {
				t.Fatalf("version = %v, want %s", d.Version, c.version)
			}
			if c.status == 0 && d.Reason != c.reason {
				t.Fatalf("reason = %v, want %v", d.Reason, c.reason)
			}
			if d.Path != c.path {
				t.Fatalf("path = %q, want %q", d.Path, c.path)
			}
			if c.rule != "" && (d.Rule == nil || d.Rule.Name != c.rule) {
				t.Fatalf("rule = %v, want %s", d.Rule, c.rule)
			}
		})
	}
}

func TestDecideNoService(t *testing.T) {
	tb := mustTable(t, strings.Replace(testYAML, "  root:\n    match: { path_prefix: / }", "  root:\n    match: { path_prefix: /root }", 1))
	d := tb.Decide(req("GET", "/nothing"))
	if d.Status != http.StatusNotFound || d.Service != nil {
		t.Fatalf("got status %d service %v, want 404", d.Status, d.Service)
	}
}

func TestLifecycleHeadersAndRedirect(t *testing.T) {
	tb := mustTable(t, testYAML)
	r := req("GET", "/v1/users/1?x=1")
	d := tb.Decide(r)
	h := http.Header{}
	d.SetLifecycleHeaders(h, r)
	if h.Get("Deprecation") == "" || h.Get("Sunset") != "Wed, 30 Jun 2027 00:00:00 GMT" {
		t.Fatalf("lifecycle headers: %v", h)
	}
	if got := h.Get("Link"); got != `</v2/users/1>; rel="successor-version"` {
		t.Fatalf("Link = %q", got)
	}
	r = req("GET", "/v0.9/users/1?x=1")
	d = tb.Decide(r)
	if loc := d.RedirectLocation(r); loc != "/v2/users/1?x=1" {
		t.Fatalf("redirect = %q", loc)
	}
	r = req("GET", "/users/1?version=0.9&x=1")
	d = tb.Decide(r)
	if loc := d.RedirectLocation(r); loc != "/users/1?version=v2&x=1" {
		t.Fatalf("query redirect = %q (status %d)", loc, d.Status)
	}
}

// TestStickySplit checks a 90/10 split over 10,000 keys lands within ±1 %,
// that every key keeps its version across repeats, and that raising the
// weight only moves keys from `from` to `to`.
func TestStickySplit(t *testing.T) {
	tb := mustTable(t, testYAML)
	const n = 10000
	assign := func(tb *Table) map[string]string {
		out := make(map[string]string, n)
		for i := 0; i < n; i++ {
			key := fmt.Sprintf("user-%d", i)
			d := tb.Decide(req("GET", "/users/1", "X-User-ID: "+key))
			out[key] = d.Version.Name
		}
		return out
	}
	a := assign(tb)
	share := func(m map[string]string) float64 {
		to := 0
		for _, v := range m {
			if v == "v2" {
				to++
			}
		}
		return float64(to) / n * 100
	}
	if s := share(a); s < 9 || s > 11 {
		t.Fatalf("share to v2 = %.2f%%, want 10±1", s)
	}
	for rep := 0; rep < 3; rep++ {
		b := assign(tb)
		for k, v := range a {
			if b[k] != v {
				t.Fatalf("key %s moved from %s to %s on repeat %d", k, v, b[k], rep)
			}
		}
	}
	tb30, err := tb.WithWeight("users", 30)
	if err != nil {
		t.Fatal(err)
	}
	c := assign(tb30)
	if s := share(c); s < 29 || s > 31 {
		t.Fatalf("share at 30 = %.2f%%", s)
	}
	for k, v := range a {
		if v == "v2" && c[k] != "v2" {
			t.Fatalf("raising the weight moved %s back from v2 to %s", k, c[k])
		}
	}
	// The original table is unchanged.
	if s := share(assign(tb)); s < 9 || s > 11 {
		t.Fatalf("WithWeight modified the receiver: %.2f%%", s)
	}
}

// TestSplitsIndependent checks that the experiment and the rollout do not
// assign the same users together (different salts).
func TestSplitsIndependent(t *testing.T) {
	tb := mustTable(t, testYAML)
	both, exp := 0, 0
	for i := 0; i < 10000; i++ {
		key := fmt.Sprintf("k%d", i)
		e := tb.Decide(req("GET", "/users/checkout", "X-User-ID: "+key)).Version.Name == "v2"
		r := tb.Decide(req("GET", "/users/1", "X-User-ID: "+key)).Version.Name == "v2"
		if e {
			exp++
			if r {
				both++
			}
		}
	}
	// Independent: P(rollout v2 | experiment v2) ≈ 10 %.
	if p := float64(both) / float64(exp) * 100; p < 8 || p > 12 {
		t.Fatalf("P(rollout v2 | experiment v2) = %.1f%%, want about 10%%", p)
	}
}

func TestPerRequestWithoutKey(t *testing.T) {
	var i uint64
	rnd := func() uint64 { i += 7919; return i * 104729 }
	tb := mustTable(t, testYAML, WithRand(rnd))
	to := 0
	for j := 0; j < 10000; j++ {
		if tb.Decide(req("GET", "/users/1")).Version.Name == "v2" {
			to++
		}
	}
	if to < 800 || to > 1200 {
		t.Fatalf("per-request share %d/10000, want about 1000", to)
	}
}

func TestCompileExprError(t *testing.T) {
	c, err := config.Parse("bad.yaml", []byte(strings.Replace(testYAML, `'Header("X-Tier") == "gold" && Method == "POST"'`, `'Header("X") ==='`, 1)))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	_, err = Compile(c)
	if err == nil || !strings.HasPrefix(err.Error(), "bad.yaml:") || !strings.Contains(err.Error(), "invalid expression") {
		t.Fatalf("want a positioned expression error, got %v", err)
	}
}

func TestWeightThreshold(t *testing.T) {
	for _, c := range []struct {
		w    float64
		want uint64
	}{{0, 0}, {100, Buckets}, {10, 100000}, {0.01, 100}, {0.0001, 1}, {-1, 0}, {101, Buckets}} {
		if got := WeightThreshold(c.w); got != c.want {
			t.Errorf("WeightThreshold(%v) = %d, want %d", c.w, got, c.want)
		}
	}
}
