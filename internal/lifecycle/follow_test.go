package lifecycle

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestFollowerAppliesNothingAndFollows: two schedulers over one store (as
// two fleet members over the shared blobs): the one not leading applies
// no due step; once the leader applied it, the follower's next tick takes
// it and publishes; a force through the follower is followed by the
// leader.
func TestFollowerAppliesNothingAndFollows(t *testing.T) {
	st := memStore(t)
	lead := newFixture(t, st, day(2027, 1, 14))
	var leading atomic.Bool
	lead.s.leading = leading.Load
	fol := newFixture(t, st, day(2027, 1, 14))
	fol.s.leading = func() bool { return false }

	lead.clk.set(day(2027, 1, 15))
	fol.clk.set(day(2027, 1, 15))
	fol.s.Tick()
	lead.s.Tick() // not leading yet
	if lead.effective() != "active" || fol.effective() != "active" {
		t.Fatalf("before a leader: %s / %s, want active", lead.effective(), fol.effective())
	}
	leading.Store(true)
	lead.s.Tick()
	if lead.effective() != "deprecated" {
		t.Fatalf("leader: %s, want deprecated", lead.effective())
	}
	fol.s.Tick()
	if got := fol.effective(); got != "deprecated" || fol.published.Load() != 1 {
		t.Fatalf("follower after a tick: %s, %d tables published; want deprecated, 1", got, fol.published.Load())
	}
	fol.s.Tick()
	if fol.published.Load() != 1 {
		t.Fatalf("follower published %d tables, want 1: nothing changed", fol.published.Load())
	}

	// gone is held by the guard; a force through the follower.
	lead.clk.set(day(2027, 3, 1))
	lead.s.Tick()
	lead.clk.set(day(2027, 4, 2))
	fol.clk.set(day(2027, 4, 2))
	lead.use.set(5, "acme")
	lead.s.Tick()
	if lead.effective() != "redirect" {
		t.Fatalf("leader: %s, want redirect (gone held)", lead.effective())
	}
	if _, err := fol.s.Force("users", "v1", "ops"); err != nil {
		t.Fatal(err)
	}
	lead.s.Tick()
	if lead.effective() != "gone" {
		t.Fatalf("leader after the follower's force: %s, want gone", lead.effective())
	}
}

// fleetUsage is a FleetUsage whose member b does not answer.
type fleetUsage struct{}

func (fleetUsage) Recent(string, string, time.Duration) (uint64, []string) { return 0, nil }
func (fleetUsage) RecentFleet(string, string, time.Duration) (uint64, []string, error) {
	return 0, nil, errors.New("fleet usage missing from 1 of 1 members: b (no answer within 1s)")
}

// TestFleetUsageUnknownHolds: a guarded step whose fleet usage is not
// known from every member is held, naming the member, never applied on
// the partial count (0 here).
func TestFleetUsageUnknownHolds(t *testing.T) {
	f := newFixture(t, memStore(t), day(2027, 3, 1))
	f.s.usage = fleetUsage{}
	f.s.Tick()
	if got := f.effective(); got != "deprecated" {
		t.Fatalf("at redirect's date with b silent: %s, want deprecated (redirect held)", got)
	}
	st, _ := f.s.Status("users", "v1")
	if !strings.Contains(st.Reason, "not known from the whole fleet") || !strings.Contains(st.Reason, "b (no answer") {
		t.Fatalf("hold reason %q, want it to name b", st.Reason)
	}
}

// slowFleet is a FleetUsage that answers once released, as a pull waits
// for a slow member.
type slowFleet struct {
	asked, release chan struct{}
}

func (u slowFleet) Recent(string, string, time.Duration) (uint64, []string) { return 0, nil }
func (u slowFleet) RecentFleet(string, string, time.Duration) (uint64, []string, error) {
	u.asked <- struct{}{}
	<-u.release
	return 0, nil, nil
}

// TestGuardPullDoesNotHoldTheLock: while a tick waits for the fleet's
// usage, Status and Effective answer (a reload is not held up by a slow
// member).
func TestGuardPullDoesNotHoldTheLock(t *testing.T) {
	f := newFixture(t, memStore(t), day(2027, 3, 1))
	u := slowFleet{asked: make(chan struct{}, 1), release: make(chan struct{})}
	f.s.usage = u
	ticked := make(chan struct{})
	go func() { defer close(ticked); f.s.Tick() }()
	<-u.asked
	answered := make(chan struct{})
	go func() { defer close(answered); f.s.Status("users", "v1"); f.s.Effective(f.cfg) }()
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	select {
	case <-answered:
	case <-timeout.C:
		t.Error("Status did not answer while the tick waited for the fleet's usage")
	}
	close(u.release)
	<-ticked
	<-answered
	if got := f.effective(); got != "redirect" {
		t.Fatalf("after the pull: %s, want redirect (quiet fleet)", got)
	}
}
