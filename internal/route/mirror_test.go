package route

import (
	"fmt"
	"net/http"
	"testing"
)

// mirrorYAML mirrors /m to v2: GET only, at {{PERCENT}}, sticky on the
// rollout's X-User-ID; X-Env: canary colours a request to v2; v0 is gone.
const mirrorYAML = `
upstreams:
  u1: { targets: ["http://127.0.0.1:1"] }
  u2: { targets: ["http://127.0.0.1:2"] }
services:
  m:
    match: { path_prefix: /m }
    default: v1
    versions: { v1: { upstream: u1 }, v2: { upstream: u2 }, v0: { upstream: u1, lifecycle: gone } }
    rules:
      - name: canary
        match: { header: { X-Env: canary } }
        version: v2
    rollout: { from: v1, to: v2, weight: 0, sticky: "header:X-User-ID" }
    mirror: { to: v2, percent: %v, methods: [GET] }
  plain:
    match: { path_prefix: /plain }
    default: v1
    versions: { v1: { upstream: u1 } }
`

func mirrorTable(t testing.TB, percent float64, rnd func() uint64) *Table {
	return mustTable(t, fmt.Sprintf(mirrorYAML, percent), WithRand(rnd))
}

func mirrorName(d Decision) string {
	if d.Mirror == nil {
		return ""
	}
	return d.Mirror.Name
}

// TestDecideMirror: Decide selects a request for its service's mirror by
// method, percent and decided version, and never for Turnout's own
// answers or a service without a mirror.
func TestDecideMirror(t *testing.T) {
	// 100 % mirrors even the highest draw, 0 % not even the lowest.
	full := mirrorTable(t, 100, func() uint64 { return Buckets - 1 })
	none := mirrorTable(t, 0, func() uint64 { return 0 })
	for _, tc := range []struct {
		name string
		tb   *Table
		r    *http.Request
		want string
	}{
		{"GET at 100", full, req("GET", "/m/1"), "v2"},
		{"POST not listed", full, req("POST", "/m/1"), ""},
		{"HEAD not listed", full, req("HEAD", "/m/1"), ""},
		{"colour to the mirror's version", full, req("GET", "/m/1", "X-Env: canary"), ""},
		{"pin to the mirror's version", full, req("GET", "/m/1", "X-API-Version: v2"), ""},
		{"gone answered by Turnout", full, req("GET", "/m/1", "X-API-Version: v0"), ""},
		{"406 answered by Turnout", full, req("GET", "/m/1", "X-API-Version: v9"), ""},
		{"no mirror", full, req("GET", "/plain/1"), ""},
		{"no service", full, req("GET", "/nothing"), ""},
		{"percent 0", none, req("GET", "/m/1"), ""},
		{"percent 0 sticky", none, req("GET", "/m/1", "X-User-ID: alice"), ""},
	} {
		if got := mirrorName(tc.tb.Decide(tc.r)); got != tc.want {
			t.Errorf("%s: Mirror = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestDecideMirrorRandom: below 100 percent a request without a sticky
// key is drawn from the table's random source: a draw below the
// threshold is mirrored, one at it is not.
func TestDecideMirrorRandom(t *testing.T) {
	next := uint64(0)
	tb := mirrorTable(t, 25, func() uint64 { return next })
	for _, tc := range []struct {
		draw uint64
		want string
	}{
		{0, "v2"}, {WeightThreshold(25) - 1, "v2"}, {WeightThreshold(25), ""}, {Buckets - 1, ""},
		{Buckets + 3, "v2"}, // the draw is taken modulo Buckets
	} {
		next = tc.draw
		if got := mirrorName(tb.Decide(req("GET", "/m/1"))); got != tc.want {
			t.Errorf("draw %d: Mirror = %q, want %q", tc.draw, got, tc.want)
		}
	}
}

// TestDecideMirrorSticky: a request carrying the rollout's sticky key is
// mirrored by the key's bucket (BucketOf with MirrorSalt), the same
// answer every time whatever the random source says.
func TestDecideMirrorSticky(t *testing.T) {
	const percent = 50
	high := mirrorTable(t, percent, func() uint64 { return Buckets - 1 }) // random draws never mirror
	low := mirrorTable(t, percent, func() uint64 { return 0 })            // random draws always mirror
	seen := map[bool]int{}
	for i := range 40 {
		key := fmt.Sprintf("user-%d", i)
		want := ""
		if BucketOf(key, MirrorSalt("m")) < WeightThreshold(percent) {
			want = "v2"
		}
		seen[want != ""]++
		for _, tb := range []*Table{high, low, high} {
			if got := mirrorName(tb.Decide(req("GET", "/m/1", "X-User-ID: "+key))); got != want {
				t.Fatalf("%s: Mirror = %q, want %q", key, got, want)
			}
		}
	}
	if seen[true] == 0 || seen[false] == 0 {
		t.Errorf("40 keys at %d %%: %v mirrored/not; the test needs both", percent, seen)
	}
}

// TestDecideMirrorAllocs: selecting for a mirror allocates nothing.
func TestDecideMirrorAllocs(t *testing.T) {
	tb := mirrorTable(t, 50, func() uint64 { return 1 })
	for _, r := range []*http.Request{req("GET", "/m/1"), req("GET", "/m/1", "X-User-ID: alice"), req("POST", "/m/1")} {
		if a := testing.AllocsPerRun(100, func() { _ = tb.Decide(r) }); a != 0 {
			t.Errorf("%s %v: %v allocs per Decide, want 0", r.Method, r.Header, a)
		}
	}
}

// TestDecideTrustedByDefault: without a trust policy every decision is
// trusted and nothing was removed.
func TestDecideTrustedByDefault(t *testing.T) {
	tb := mirrorTable(t, 100, func() uint64 { return 0 })
	for _, r := range []*http.Request{req("GET", "/m/1", "X-Env: canary"), req("GET", "/nothing"), req("GET", "/m/1", "X-API-Version: %%")} {
		if d := tb.Decide(r); !d.Trusted || d.Removed != 0 {
			t.Errorf("%s: Trusted %v Removed %q, want trusted, nothing removed", r.URL, d.Trusted, d.Removed)
		}
	}
}

func TestRemovedString(t *testing.T) {
	for r, want := range map[Removed]string{0: "", RemovedHeader: "header", RemovedPin | RemovedCookie: "cookie,pin",
		RemovedHeader | RemovedCookie | RemovedQuery | RemovedPin | RemovedSignature: "header,cookie,query,pin,signature"} {
		if r.String() != want {
			t.Errorf("%08b: %q, want %q", r, r.String(), want)
		}
	}
	if !(RemovedPin | RemovedQuery).Has(RemovedPin) || RemovedQuery.Has(RemovedPin|RemovedQuery) {
		t.Error("Has")
	}
}
