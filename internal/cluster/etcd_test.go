package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/store"
	"github.com/turnout-gw/turnout/internal/testutil/etcdtest"
	"github.com/turnout-gw/turnout/internal/testutil/wait"
)

// deadline bounds every wait of these tests; it is never a measurement.
const deadline = 15 * time.Second

// open is a backend on srv under prefix /t for one test, with a one-second
// lease and timeout, closed at cleanup.
func open(t testing.TB, srv *etcdtest.Server) *Etcd {
	t.Helper()
	e, err := OpenEtcd(EtcdOptions{Endpoints: srv.Endpoints(), Prefix: "/t", Lease: time.Second, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// joined is open plus Register as name.
func joined(t testing.TB, srv *etcdtest.Server, name string) *Etcd {
	t.Helper()
	e := open(t, srv)
	if err := e.Register(ctx(t), Member{Name: name, Advertise: "http://" + name + ":9901", SpecHash: "h"}); err != nil {
		t.Fatalf("register %s: %v", name, err)
	}
	return e
}

// crash ends e as a killed process would: its lease is no longer renewed
// and not revoked, so the member stays until the lease expires.
func crash(e *Etcd) {
	e.mu.Lock()
	e.closed = true
	close(e.done)
	e.endLeadLocked()
	e.mu.Unlock()
	e.endLife()
	e.wg.Wait()
	_ = e.c.Close()
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), deadline)
	t.Cleanup(cancel)
	return c
}

func rolloutState(service string, weight float64) store.RolloutState {
	return store.RolloutState{Service: service, From: "v1", To: "v2", State: store.StateProgressing, Weight: weight, Step: 0, WeightSource: store.SourceEngine}
}

// TestPutRolloutConflict: a write that expects a revision another member
// has since replaced fails with ErrConflict, changes nothing and appends
// none of its events.
func TestPutRolloutConflict(t *testing.T) {
	srv := etcdtest.Start(t)
	a, b := open(t, srv), open(t, srv)
	c := ctx(t)
	v1, evs, err := a.PutRollout(c, Write{Rollout: rolloutState("users", 10), Events: []store.Event{{Type: "step", Service: "users"}}})
	if err != nil || v1.Rev == 0 || len(evs) != 1 || evs[0].Seq != 1 {
		t.Fatalf("create: %+v %+v %v", v1, evs, err)
	}
	if _, _, err := b.PutRollout(c, Write{Rollout: rolloutState("users", 99)}); !errors.Is(err, ErrConflict) {
		t.Fatalf("second create: %v, want ErrConflict", err)
	}
	v2, _, err := b.PutRollout(c, Write{Rollout: rolloutState("users", 25), Expect: v1.Rev, Events: []store.Event{{Type: "step", Service: "users"}}})
	if err != nil || v2.Rev <= v1.Rev {
		t.Fatalf("update from b: %+v %v", v2, err)
	}
	_, _, err = a.PutRollout(c, Write{Rollout: rolloutState("users", 50), Expect: v1.Rev, Events: []store.Event{{Type: "step", Service: "users"}}})
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("stale update from a: %v, want ErrConflict", err)
	}
	got, ok, err := a.GetRollout(c, "users")
	if err != nil || !ok || got.Weight != 25 || got.Rev != v2.Rev {
		t.Fatalf("state after the conflict: %+v %v %v, want weight 25 at %d", got, ok, err, v2.Rev)
	}
	all, err := a.Events(c, store.EventQuery{})
	if err != nil || len(all) != 2 {
		t.Fatalf("events: %+v %v, want the two committed steps only", all, err)
	}
	list, rev, err := b.Rollouts(c)
	if err != nil || len(list) != 1 || list[0].Weight != 25 || rev < v2.Rev {
		t.Fatalf("Rollouts: %+v at %d, %v", list, rev, err)
	}
}

// TestEventsOneSequenceAcrossMembers: two members appending at once get
// distinct, gapless sequence numbers, and queries select by service,
// after a sequence and the last N, oldest first.
func TestEventsOneSequenceAcrossMembers(t *testing.T) {
	srv := etcdtest.Start(t)
	a, b := open(t, srv), open(t, srv)
	c := ctx(t)
	const each = 40
	var wg sync.WaitGroup
	errs := make(chan error, 2*each)
	for i, e := range []*Etcd{a, b} {
		wg.Go(func() {
			for n := range each {
				svc := []string{"users", "orders"}[n%2]
				if _, err := e.AppendEvents(c, store.Event{Type: "note", Service: svc, Actor: fmt.Sprint("member-", i)}); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("append: %v", err)
	}
	all, err := b.Events(c, store.EventQuery{Limit: 1000})
	if err != nil || len(all) != 2*each {
		t.Fatalf("events: %d %v, want %d", len(all), err, 2*each)
	}
	for i, ev := range all {
		if ev.Seq != uint64(i+1) || ev.At.IsZero() {
			t.Fatalf("event %d has seq %d (at %v); want gapless 1..%d", i, ev.Seq, ev.At, 2*each)
		}
	}
	users, err := a.Events(c, store.EventQuery{Service: "users", AfterSeq: 10, Limit: 5})
	if err != nil || len(users) != 5 {
		t.Fatalf("users events: %+v %v", users, err)
	}
	var want []uint64
	for _, ev := range all {
		if ev.Service == "users" && ev.Seq > 10 {
			want = append(want, ev.Seq)
		}
	}
	want = want[len(want)-5:]
	var got []uint64
	for _, ev := range users {
		got = append(got, ev.Seq)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("the last five users events after 10: %v, want %v", got, want)
	}
}

// TestMembersLeaseExpiry: a member that stops renewing its lease (killed)
// leaves the member list within the lease; a second live member cannot
// take its name while it is there.
func TestMembersLeaseExpiry(t *testing.T) {
	srv := etcdtest.Start(t)
	a, b := joined(t, srv, "a"), joined(t, srv, "b")
	c := ctx(t)
	names := func() []string {
		ms, err := b.Members(c)
		if err != nil {
			t.Fatalf("members: %v", err)
		}
		var n []string
		for _, m := range ms {
			n = append(n, m.Name)
		}
		return n
	}
	if got := names(); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("members %v, want [a b]", got)
	}
	ms, _ := b.Members(c)
	if ms[0].Advertise != "http://a:9901" || ms[0].LastSeen.IsZero() {
		t.Fatalf("member a: %+v", ms[0])
	}
	dup := open(t, srv)
	if err := dup.Register(c, Member{Name: "a"}); !errors.Is(err, ErrMemberExists) {
		t.Fatalf("a second a: %v, want ErrMemberExists", err)
	}
	_ = dup.Close()
	crash(a)
	wait.For(t, deadline, "member a to expire", func() bool { return slices.Equal(names(), []string{"b"}) })
}

// TestLeaderFailover: one of two members leads; when its lease is closed
// the other takes over, and the old leader's writes as leader fail.
func TestLeaderFailover(t *testing.T) {
	srv := etcdtest.Start(t)
	a, b := joined(t, srv, "a"), joined(t, srv, "b")
	c := ctx(t)
	lostA, err := a.Campaign(c)
	if err != nil {
		t.Fatalf("a campaign: %v", err)
	}
	if l, err := b.Leader(c); err != nil || l != "a" {
		t.Fatalf("leader %q %v, want a", l, err)
	}
	if _, _, err := b.PutRollout(c, Write{Rollout: rolloutState("users", 10), AsLeader: true}); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("follower's write as leader: %v, want ErrNotLeader", err)
	}
	v, _, err := a.PutRollout(c, Write{Rollout: rolloutState("users", 10), AsLeader: true})
	if err != nil {
		t.Fatalf("leader's write: %v", err)
	}
	type won struct {
		lost <-chan struct{}
		err  error
	}
	bWon := make(chan won, 1)
	go func() {
		l, err := b.Campaign(c)
		bWon <- won{l, err}
	}()
	wait.For(t, deadline, "b to be a candidate", func() bool {
		r, err := b.c.Get(c, b.leaderPrefix()+"/", prefixCount()...)
		return err == nil && r.Count == 2
	})
	// a's session ends as a killed process's would; b leads within the lease.
	aSess := a.sess
	_ = aSess.Close()
	select {
	case <-lostA:
	case <-time.After(deadline):
		t.Fatal("a was not told it lost the lead")
	}
	var w won
	select {
	case w = <-bWon:
	case <-time.After(deadline):
		t.Fatal("b did not take over")
	}
	if w.err != nil {
		t.Fatalf("b campaign: %v", w.err)
	}
	if l, err := a.Leader(c); err != nil || l != "b" {
		t.Fatalf("leader %q %v, want b", l, err)
	}
	if _, _, err := a.PutRollout(c, Write{Rollout: rolloutState("users", 25), Expect: v.Rev, AsLeader: true}); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("old leader's write: %v, want ErrNotLeader", err)
	}
	if _, _, err := b.PutRollout(c, Write{Rollout: rolloutState("users", 25), Expect: v.Rev, AsLeader: true}); err != nil {
		t.Fatalf("new leader's write: %v", err)
	}
	if err := b.Resign(c); err != nil {
		t.Fatal(err)
	}
	select {
	case <-w.lost:
	case <-time.After(deadline):
		t.Fatal("Resign did not close the lost channel")
	}
}
