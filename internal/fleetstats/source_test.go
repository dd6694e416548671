package fleetstats

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/stats"
	"github.com/turnout-gw/turnout/internal/testutil/testclock"
)

const fleetToken = "fleet-token"

var t0 = time.Unix(1_700_000_040, 0).UTC()

// TestSourceMergesFleet: three registries (this member's and two behind
// real admin servers) split a random stream of requests; after one pull
// per member, every window FetchWindow answers is exactly the one a
// single registry that saw the whole stream answers.
func TestSourceMergesFleet(t *testing.T) {
	clock := testclock.New(t0)
	local := stats.NewRegistry(clock.Now)
	b := newMember(t, "b", fleetToken, clock, nil)
	c := newMember(t, "c", fleetToken, clock, nil)
	all := stats.NewRegistry(clock.Now)
	regs := []*stats.Registry{local, b.reg, c.reg}
	rng := rand.New(rand.NewPCG(1, 2))
	services := []string{"s0", "s1", "s2", "s3"}
	for range 40 {
		for range 50 {
			k := stats.Key{Service: services[rng.IntN(len(services))], Version: fmt.Sprint("v", 1+rng.IntN(2)), Upstream: fmt.Sprint("u", rng.IntN(2))}
			failed, lat := rng.IntN(8) == 0, time.Duration(rng.ExpFloat64()*float64(30*time.Millisecond))
			all.Record(k, failed, lat)
			regs[rng.IntN(len(regs))].Record(k, failed, lat)
		}
		clock.Advance(time.Duration(rng.IntN(900)) * time.Millisecond)
	}
	src, err := New("a", local, membersOf(b, c), WithToken(func() string { return fleetToken }), WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	since := clock.Now().Add(-12 * time.Second)
	var qs []stats.Query
	for _, s := range services {
		qs = append(qs, stats.Query{Service: s, Versions: []string{"v2", "v1"}, Window: 30 * time.Second, Since: since})
	}
	src.Prefetch(qs)
	for _, s := range services {
		for _, v := range []string{"v1", "v2"} {
			got, err := src.FetchWindow(s, v, 30*time.Second, since)
			want := all.VersionWindow(s, v, 30*time.Second, since)
			if err != nil || got != want || got.Requests == 0 {
				t.Fatalf("%s/%s: fleet %+v (%v), one registry %+v", s, v, got, err, want)
			}
		}
	}
	if nb, nc := b.pulls.Load(), c.pulls.Load(); nb != 1 || nc != 1 {
		t.Fatalf("pulls: b %d, c %d; want one each for %d services", nb, nc, len(services))
	}
	// A window nobody announced is pulled for its service alone, once
	// for both its versions; once the answer is older than MaxAge, anew.
	for range 2 {
		for _, v := range []string{"v1", "v2"} {
			got, err := src.FetchWindow("s1", v, time.Minute, time.Time{})
			if want := all.VersionWindow("s1", v, time.Minute, time.Time{}); err != nil || got != want {
				t.Fatalf("s1/%s unannounced: %+v (%v), want %+v", v, got, err, want)
			}
		}
		clock.Advance(DefaultMaxAge)
	}
	if nb := b.pulls.Load(); nb != 3 {
		t.Fatalf("b was pulled %d times, want 1 + 2", nb)
	}
	if made, failed := src.Pulls(); made != 6 || failed != 0 {
		t.Fatalf("Pulls() = %d, %d", made, failed)
	}
}

// TestSourceNamesMembersThatDoNotAnswer: a member that hangs past the
// timeout and one that refuses the token make the pull fail with an error
// naming both and why; the windows of those that answered are not
// returned alone.
func TestSourceNamesMembersThatDoNotAnswer(t *testing.T) {
	clock := testclock.New(t0)
	local := stats.NewRegistry(clock.Now)
	hang := make(chan struct{})
	b := newMember(t, "b", fleetToken, clock, nil)
	c := newMember(t, "c", fleetToken, clock, hang)
	d := newMember(t, "d", "another-token", clock, nil)
	t.Cleanup(func() { close(hang) })
	for _, r := range []*stats.Registry{local, b.reg, d.reg} {
		r.Record(stats.Key{Service: "users", Version: "v2", Upstream: "u"}, false, time.Millisecond)
	}
	src, err := New("a", local, membersOf(b, c, d), WithToken(func() string { return fleetToken }),
		WithTimeout(300*time.Millisecond), WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	src.Prefetch([]stats.Query{{Service: "users", Window: 10 * time.Second}})
	sum, err := src.FetchWindow("users", "v2", 10*time.Second, time.Time{})
	var pe *PullError
	if !errors.As(err, &pe) || !slices.Equal(pe.Names(), []string{"c", "d"}) || pe.Asked != 3 {
		t.Fatalf("FetchWindow: %+v, %v; want a PullError naming c and d", sum, err)
	}
	var se *StatusError
	if !errors.Is(pe.Members[0], ErrTimeout) || !errors.As(pe.Members[1], &se) || se.Code != 401 {
		t.Fatalf("reasons: %v", pe.Members)
	}
	for _, want := range []string{"2 of 3 members", "c (no answer within 300ms)", "d (answered 401: invalid bearer token)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if sum != (stats.Summary{}) {
		t.Fatalf("a partial window was returned: %+v", sum)
	}
	if made, failed := src.Pulls(); made != 3 || failed != 2 {
		t.Fatalf("Pulls() = %d, %d", made, failed)
	}
}

// TestSourceAlone: with no other live member the Source is this member's
// registry, and the engine need not treat it as remote.
func TestSourceAlone(t *testing.T) {
	clock := testclock.New(t0)
	local := stats.NewRegistry(clock.Now)
	local.Record(stats.Key{Service: "users", Version: "v2", Upstream: "u"}, true, time.Millisecond)
	src, err := New("a", local, func() []Member { return []Member{{Name: "a"}} })
	if err != nil {
		t.Fatal(err)
	}
	if src.Remote("users") {
		t.Fatal("remote with no other member")
	}
	got, err := src.FetchWindow("users", "v2", 10*time.Second, time.Time{})
	if want := local.VersionWindow("users", "v2", 10*time.Second, time.Time{}); err != nil || got != want {
		t.Fatalf("%+v (%v), want %+v", got, err, want)
	}
}

// TestSourceSplitsLongPulls: a pull whose query string would exceed the
// bound goes to each member as several requests, merged alike.
func TestSourceSplitsLongPulls(t *testing.T) {
	clock := testclock.New(t0)
	local := stats.NewRegistry(clock.Now)
	b := newMember(t, "b", fleetToken, clock, nil)
	all := stats.NewRegistry(clock.Now)
	var qs []stats.Query
	for i := range 5 {
		k := stats.Key{Service: fmt.Sprint("service-", i), Version: "v1", Upstream: "u"}
		for j := range 10 {
			for _, r := range []*stats.Registry{all, []*stats.Registry{local, b.reg}[j%2]} {
				r.Record(k, j == 0, time.Duration(j)*time.Millisecond)
			}
		}
		qs = append(qs, stats.Query{Service: k.Service, Window: 10 * time.Second})
	}
	clock.Advance(time.Second)
	src, err := New("a", local, membersOf(b), WithToken(func() string { return fleetToken }), WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	src.set.maxQuery = 2*len("q="+url.QueryEscape(stats.FormatQuery(qs[0]))) + 1 // two queries a request
	src.Prefetch(qs)
	if n := b.pulls.Load(); n != 3 {
		t.Fatalf("%d requests for 5 queries, want 3", n)
	}
	for _, q := range qs {
		got, err := src.FetchWindow(q.Service, "v1", q.Window, q.Since)
		if want := all.VersionWindow(q.Service, "v1", q.Window, q.Since); err != nil || got != want || got.Requests != 10 {
			t.Fatalf("%s: %+v (%v), want %+v", q.Service, got, err, want)
		}
	}
}

// TestEachKeepsMembersApart: Each answers every member's own count (this
// member's from its registry), and a member that refuses the token is
// reported with its error and counted as a failed pull, not merged away.
func TestEachKeepsMembersApart(t *testing.T) {
	clock := testclock.New(t0)
	local := stats.NewRegistry(clock.Now)
	b := newMember(t, "b", fleetToken, clock, nil)
	c := newMember(t, "c", "another-token", clock, nil)
	k := stats.Key{Service: "users", Version: "v1", Upstream: "u"}
	for i, reg := range []*stats.Registry{local, b.reg, c.reg} {
		for range 3 + i {
			reg.Record(k, false, time.Millisecond)
		}
	}
	clock.Advance(time.Second)
	src, err := New("a", local, membersOf(b, c), WithToken(func() string { return fleetToken }), WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	ms := []Member{{Name: "a"}, b.Member(), c.Member()}
	got := src.Each(ms, []stats.Query{{Service: "users", Window: time.Minute}})
	if len(got) != 3 || got[0].Member != "a" || got[0].Requests() != 3 || got[1].Member != "b" || got[1].Requests() != 4 {
		t.Fatalf("answers %+v, want a at 3 and b at 4", got)
	}
	var se *StatusError
	if got[2].Member != "c" || got[2].Export != nil || !errors.As(got[2].Err, &se) || se.Code != 401 || got[2].Requests() != 0 {
		t.Fatalf("c: %+v, want a 401", got[2])
	}
	if made, failed := src.Pulls(); made != 2 || failed != 1 {
		t.Fatalf("pulls %d made, %d failed; want 2 and 1", made, failed)
	}
}
