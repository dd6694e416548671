package fleetstats

import (
	"errors"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/stats"
	"github.com/turnout-gw/turnout/internal/testutil/testclock"
)

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
