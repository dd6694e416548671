package trust

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/route"
)

const testYAML = `
upstreams:
  u1: { targets: [http://127.0.0.1:9001] }
  u2: { targets: [http://127.0.0.1:9002] }
trust:
  networks: [10.0.0.0/8, "2001:db8::1"]
  proxies: [192.168.0.0/16]
  pins: refuse
  service_pins: { open: allow }
  strip: [header:X-Debug-Route]
  signature: { key_env: TRUST_TEST_UNSET_KEY, max_age: 1m }
services:
  users:
    match: { path_prefix: /users }
    default: v1
    versions: { v1: { upstream: u1 }, v2: { upstream: u2 } }
    rules:
      - name: testers
        match: { header: { X-Env: canary } }
        version: v2
      - name: beta
        match: { cookie: { beta: "yes" } }
        version: v2
      - name: flag
        match: { query: { flavour: new } }
        version: v2
  open:
    match: { path_prefix: /open }
    default: v1
    versions: { v1: { upstream: u1 }, v2: { upstream: u2 } }
`

var key = []byte("k3y")

func newPolicy(t testing.TB, now time.Time, reports *[]string) (*Policy, *route.Table) {
	t.Helper()
	c, err := config.Parse("trust.yaml", []byte(testYAML))
	if err != nil {
		t.Fatal(err)
	}
	tb, err := route.Compile(c)
	if err != nil {
		t.Fatal(err)
	}
	opts := []Option{WithKey(key), WithClock(func() time.Time { return now })}
	if reports != nil {
		opts = append(opts, WithReport(func(s, src string) { *reports = append(*reports, s+"/"+src) }))
	}
	p, err := New(c.Trust, tb, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return p, tb
}

func request(remote, target string, headers ...string) *http.Request {
	r := httptest.NewRequest("GET", target, nil)
	r.RemoteAddr = remote
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		r.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	return r
}

func TestDecide(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	p, tb := newPolicy(t, now, nil)
	signed := func(r *http.Request, at time.Time) *http.Request {
		r.Header.Set("X-Turnout-Colour-Sig", p.Sign(r, key, at))
		return r
	}
	cases := []struct {
		name    string
		r       *http.Request
		version string
		reason  string
		header  string // the header left afterwards, "NAME=VALUE" ("NAME=" absent)
	}{
		{"trusted network keeps colour", request("10.1.2.3:5000", "/users/1", "X-Env: canary"), "v2", "rule", "X-Env=canary"},
		{"trusted v6 address", request("[2001:db8::1]:5000", "/users/1", "X-Env: canary"), "v2", "rule", "X-Env=canary"},
		{"untrusted header stripped", request("203.0.113.9:5000", "/users/1", "X-Env: canary"), "v1", "default", "X-Env="},
		{"strip list", request("203.0.113.9:5000", "/users/1", "X-Debug-Route: v2"), "v1", "default", "X-Debug-Route="},
		{"untrusted cookie stripped, others kept", request("203.0.113.9:5000", "/users/1", "Cookie: a=1; beta=yes; b=2"), "v1", "default", "Cookie=a=1; b=2"},
		{"only colour cookie", request("203.0.113.9:5000", "/users/1", "Cookie: beta=yes"), "v1", "default", "Cookie="},
		{"untrusted query stripped", request("203.0.113.9:5000", "/users/1?x=1&flavour=new&y=2"), "v1", "default", ""},
		{"encoded query name stripped", request("203.0.113.9:5000", "/users/1?fla%76our=new"), "v1", "default", ""},
		{"XFF from trusted proxy", request("192.168.1.1:5000", "/users/1", "X-Forwarded-For: 10.9.9.9", "X-Env: canary"), "v2", "rule", "X-Env=canary"},
		{"XFF chain of proxies", request("192.168.1.1:5000", "/users/1", "X-Forwarded-For: 10.9.9.9, 192.168.7.7", "X-Env: canary"), "v2", "rule", "X-Env=canary"},
		{"XFF right-most non-proxy wins", request("192.168.1.1:5000", "/users/1", "X-Forwarded-For: 10.9.9.9, 203.0.113.9", "X-Env: canary"), "v1", "default", "X-Env="},
		{"XFF from untrusted peer ignored", request("203.0.113.9:5000", "/users/1", "X-Forwarded-For: 10.9.9.9", "X-Env: canary"), "v1", "default", "X-Env="},
		{"XFF garbage", request("192.168.1.1:5000", "/users/1", "X-Forwarded-For: 10.9.9.9, bogus", "X-Env: canary"), "v1", "default", "X-Env="},
		{"refused pin", request("203.0.113.9:5000", "/users/1", "X-API-Version: 2"), "v1", "default", "X-Api-Version="},
		{"refused path pin", request("203.0.113.9:5000", "/v2/users/1"), "v1", "default", ""},
		{"refused malformed pin", request("203.0.113.9:5000", "/users/1", "X-API-Version: !!"), "v1", "default", ""},
		{"trusted pin", request("10.0.0.1:5000", "/users/1", "X-API-Version: 2"), "v2", "pinned", "X-Api-Version=2"},
		{"allowed pin per service", request("203.0.113.9:5000", "/open/1", "X-API-Version: 2"), "v2", "pinned", "X-Api-Version=2"},
		{"signed colour", signed(request("203.0.113.9:5000", "/users/1", "X-Env: canary"), now), "v2", "rule", "X-Turnout-Colour-Sig="},
		{"signed pin", signed(request("203.0.113.9:5000", "/users/1?version=2"), now.Add(-50*time.Second)), "v2", "pinned", ""},
		{"expired signature", signed(request("203.0.113.9:5000", "/users/1", "X-Env: canary"), now.Add(-2*time.Minute)), "v1", "default", "X-Env="},
		{"future signature", signed(request("203.0.113.9:5000", "/users/1", "X-Env: canary"), now.Add(2*time.Minute)), "v1", "default", "X-Env="},
		{"tampered after signing", func() *http.Request {
			r := signed(request("203.0.113.9:5000", "/users/1", "X-Env: other"), now)
			r.Header.Set("X-Env", "canary")
			return r
		}(), "v1", "default", "X-Env="},
		{"colour added after signing", func() *http.Request {
			r := signed(request("203.0.113.9:5000", "/users/1"), now)
			r.Header.Set("Cookie", "beta=yes")
			return r
		}(), "v1", "default", "Cookie="},
		{"malformed signature", request("203.0.113.9:5000", "/users/1", "X-Env: canary", "X-Turnout-Colour-Sig: t=abc,h=00"), "v1", "default", "X-Turnout-Colour-Sig="},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := p.Decide(tb, c.r)
			if d.Version == nil || d.Version.Name != c.version || d.Reason.String() != c.reason {
				t.Fatalf("decided %+v, want %s by %s", d, c.version, c.reason)
			}
			if c.header != "" {
				name, want, _ := strings.Cut(c.header, "=")
				if got := strings.Join(c.r.Header.Values(name), "|"); got != want {
					t.Errorf("%s after = %q, want %q", name, got, want)
				}
			}
		})
	}
}

func TestQueryStrippedInOrder(t *testing.T) {
	p, tb := newPolicy(t, time.Now(), nil)
	r := request("203.0.113.9:5000", "/users/1?x=1&flavour=new&y=2&flavour=old&version=2")
	p.Decide(tb, r)
	if r.URL.RawQuery != "x=1&y=2" {
		t.Errorf("query after = %q, want x=1&y=2", r.URL.RawQuery)
	}
}

func TestReports(t *testing.T) {
	var reports []string
	p, tb := newPolicy(t, time.Now(), &reports)
	p.Decide(tb, request("203.0.113.9:5000", "/users/1?flavour=new", "X-Env: a", "Cookie: beta=yes", "X-API-Version: 2", "X-Turnout-Colour-Sig: junk"))
	p.Decide(tb, request("10.0.0.1:5000", "/users/1", "X-Env: a"))
	p.Decide(tb, request("203.0.113.9:5000", "/nowhere", "X-Env: a"))
	want := "[users/header users/cookie users/query users/pin users/signature /header]"
	if got := fmt.Sprint(reports); got != want {
		t.Errorf("reports %s, want %s", got, want)
	}
}

func TestSignedKeys(t *testing.T) {
	p, _ := newPolicy(t, time.Now(), nil)
	want := "[header:x-api-version header:x-debug-route header:x-env cookie:beta query:flavour query:version]"
	if got := fmt.Sprint(p.SignedKeys()); got != want {
		t.Errorf("SignedKeys = %s, want %s", got, want)
	}
}

// TestNoKeyFailsClosed: with the key variable unset, no signature verifies.
func TestNoKeyFailsClosed(t *testing.T) {
	c, err := config.Parse("trust.yaml", []byte(testYAML))
	if err != nil {
		t.Fatal(err)
	}
	tb, _ := route.Compile(c)
	p, err := New(c.Trust, tb)
	if err != nil {
		t.Fatal(err)
	}
	r := request("203.0.113.9:5000", "/users/1", "X-Env: canary")
	r.Header.Set("X-Turnout-Colour-Sig", p.Sign(r, nil, time.Now()))
	if d := p.Decide(tb, r); d.Version.Name != "v1" {
		t.Errorf("a signature verified without a key: %s", d.Version.Name)
	}
}

func TestNilPolicyTrustsAll(t *testing.T) {
	_, tb := newPolicy(t, time.Now(), nil)
	var p *Policy
	if d := p.Decide(tb, request("203.0.113.9:5000", "/users/1", "X-Env: canary")); d.Version.Name != "v2" {
		t.Errorf("nil policy decided %s", d.Version.Name)
	}
	if q, err := New(nil, tb); q != nil || err != nil {
		t.Errorf("New(nil) = %v, %v", q, err)
	}
}

// TestNoAllocs: an untrusted request without colour, and a trusted one,
// cost no allocation beyond the table's own.
func TestNoAllocs(t *testing.T) {
	p, tb := newPolicy(t, time.Now(), nil)
	for _, r := range []*http.Request{
		request("203.0.113.9:5000", "/users/1?x=1", "Cookie: a=1", "Accept: */*"),
		request("192.168.1.1:5000", "/users/1", "X-Forwarded-For: 10.9.9.9, 192.168.7.7", "X-Env: canary"),
	} {
		if n := testing.AllocsPerRun(100, func() { p.Decide(tb, r) }); n != 0 {
			t.Errorf("%s %v: %v allocations per request", r.RemoteAddr, r.Header, n)
		}
	}
}

func BenchmarkDecideUntrusted(b *testing.B) {
	p, tb := newPolicy(b, time.Now(), nil)
	r := request("203.0.113.9:5000", "/users/1?x=1", "Cookie: a=1", "Accept: */*")
	b.ReportAllocs()
	for b.Loop() {
		p.Decide(tb, r)
	}
}

// TestDecisionOutcome: the decision carries what the policy concluded —
// Trusted, and Removed: the kinds of colour taken from an untrusted
// request, a refused pin, a signature that did not verify.
func TestDecisionOutcome(t *testing.T) {
	now := time.Now()
	p, tb := newPolicy(t, now, nil)
	signed := request("203.0.113.9:5000", "/users/1", "X-Env: canary")
	signed.Header.Set("X-Turnout-Colour-Sig", p.Sign(signed, key, now))
	for _, tc := range []struct {
		name    string
		r       *http.Request
		trusted bool
		removed route.Removed
		served  string
	}{
		{"trusted network", request("10.0.0.1:5000", "/users/1", "X-Env: canary"), true, 0, "v2"},
		{"trusted via proxy", request("192.168.1.1:5000", "/users/1", "X-Forwarded-For: 10.9.9.9", "X-Env: canary"), true, 0, "v2"},
		{"untrusted, nothing to remove", request("203.0.113.9:5000", "/users/1"), false, 0, "v1"},
		{"untrusted colour", request("203.0.113.9:5000", "/users/1?flavour=new", "X-Env: canary", "Cookie: beta=yes"), false,
			route.RemovedHeader | route.RemovedCookie | route.RemovedQuery, "v1"},
		{"untrusted pin refused", request("203.0.113.9:5000", "/users/1", "X-API-Version: 2"), false, route.RemovedPin, "v1"},
		{"untrusted pin allowed", request("203.0.113.9:5000", "/open/1", "X-API-Version: 2"), false, 0, "v2"},
		{"forged signature", request("203.0.113.9:5000", "/users/1", "X-Env: canary", "X-Turnout-Colour-Sig: t=1,h=00"), false,
			route.RemovedHeader | route.RemovedSignature, "v1"},
		{"signed", signed, true, 0, "v2"},
	} {
		d := p.Decide(tb, tc.r)
		if d.Trusted != tc.trusted || d.Removed != tc.removed || d.Version == nil || d.Version.Name != tc.served {
			t.Errorf("%s: Trusted %v Removed %q served %v; want %v %q %s", tc.name, d.Trusted, d.Removed, d.Version, tc.trusted, tc.removed, tc.served)
		}
	}
	var nilPolicy *Policy
	if d := nilPolicy.Decide(tb, request("203.0.113.9:5000", "/users/1", "X-Env: canary")); !d.Trusted || d.Removed != 0 {
		t.Errorf("nil policy: Trusted %v Removed %q, want trusted, nothing removed", d.Trusted, d.Removed)
	}
}
