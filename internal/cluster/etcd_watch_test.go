package cluster

import (
	"errors"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/turnout-gw/turnout/internal/store"
	"github.com/turnout-gw/turnout/internal/testutil/etcdtest"
	"github.com/turnout-gw/turnout/internal/testutil/wait"
)

func prefixCount() []clientv3.OpOption {
	return []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithCountOnly()}
}

// next returns the next change of kind from ch, skipping others, or fails
// t after the deadline.
func next(t *testing.T, ch <-chan Change, kind Kind) Change {
	t.Helper()
	timeout := time.NewTimer(deadline)
	defer timeout.Stop()
	for {
		select {
		case c, ok := <-ch:
			if !ok {
				t.Fatalf("watch closed while waiting for kind %d", kind)
			}
			if c.Kind == kind {
				return c
			}
		case <-timeout.C:
			t.Fatalf("no change of kind %d within %v", kind, deadline)
		}
	}
}

// TestWatchDeliversChanges: a member watching from the revision it read
// sees another member's write of a rollout, with its state and revision,
// a member joining and the election changing.
func TestWatchDeliversChanges(t *testing.T) {
	srv := etcdtest.Start(t)
	a, b := open(t, srv), open(t, srv)
	c := ctx(t)
	_, rev, err := b.Rollouts(c)
	if err != nil {
		t.Fatal(err)
	}
	ch := b.Watch(c, rev)
	v, _, err := a.PutRollout(c, Write{Rollout: rolloutState("users", 25), Events: []store.Event{{Type: "weight_change", Service: "users"}}})
	if err != nil {
		t.Fatal(err)
	}
	got := next(t, ch, KindRollout)
	if got.Name != "users" || got.Rollout == nil || got.Rollout.Weight != 25 || got.Rollout.Rev != v.Rev {
		t.Fatalf("change %+v (rollout %+v), want users at 25, revision %d", got, got.Rollout, v.Rev)
	}
	if err := a.Register(c, Member{Name: "a"}); err != nil {
		t.Fatal(err)
	}
	if m := next(t, ch, KindMember); m.Name != "a" {
		t.Fatalf("member change %+v", m)
	}
	if _, err := a.Campaign(c); err != nil {
		t.Fatal(err)
	}
	next(t, ch, KindLeader)
}

// TestEtcdStoppedAndBack: while etcd is down every call fails within its
// bound with ErrUnavailable; when it returns the calls succeed, the member
// (whose lease expired meanwhile) is registered again and a watch begun
// before the outage delivers the changes after it.
func TestEtcdStoppedAndBack(t *testing.T) {
	srv := etcdtest.Start(t)
	a := joined(t, srv, "a")
	c := ctx(t)
	_, rev, err := a.Rollouts(c)
	if err != nil {
		t.Fatal(err)
	}
	ch := a.Watch(c, rev)

	srv.Stop()
	if _, _, err := a.Rollouts(c); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Rollouts with etcd stopped: %v, want ErrUnavailable", err)
	}
	if _, _, err := a.PutRollout(c, Write{Rollout: rolloutState("users", 10)}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("PutRollout with etcd stopped: %v, want ErrUnavailable", err)
	}
	if _, err := a.Members(c); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Members with etcd stopped: %v, want ErrUnavailable", err)
	}
	// The member's one-second lease lapses while etcd is down: the client
	// gives it up once its TTL passes without a renewal.
	wait.For(t, deadline, "the member to notice its lease is lost", func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.sess == nil
	})

	srv.Start()
	wait.ForErr(t, deadline, "calls to succeed again", func() error {
		_, _, err := a.Rollouts(c)
		return err
	})
	wait.ForErr(t, deadline, "the member to be registered again", func() error {
		ms, err := a.Members(c)
		if err != nil {
			return err
		}
		if len(ms) != 1 || ms[0].Name != "a" {
			return errors.New("not listed")
		}
		return nil
	})
	if _, _, err := a.PutRollout(c, Write{Rollout: rolloutState("users", 10)}); err != nil {
		t.Fatalf("PutRollout after etcd returned: %v", err)
	}
	if got := next(t, ch, KindRollout); got.Rollout == nil || got.Rollout.Weight != 10 {
		t.Fatalf("change after the outage: %+v", got)
	}
}

// TestEventsPruned: the log keeps MaxEvents events, the newest, and the
// sequence goes on.
func TestEventsPruned(t *testing.T) {
	srv := etcdtest.Start(t)
	e, err := OpenEtcd(EtcdOptions{Endpoints: srv.Endpoints(), Prefix: "/t", Lease: time.Second, Timeout: time.Second, MaxEvents: 5})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	c := ctx(t)
	for range 12 {
		if _, err := e.AppendEvents(c, store.Event{Type: "note"}); err != nil {
			t.Fatal(err)
		}
	}
	evs, err := e.Events(c, store.EventQuery{Limit: 100})
	if err != nil || len(evs) != 5 || evs[0].Seq != 8 || evs[4].Seq != 12 {
		t.Fatalf("events %+v %v, want 8..12", evs, err)
	}
	r, err := e.c.Get(c, "/t/events/", prefixCount()...)
	if err != nil || r.Count != 5 {
		t.Fatalf("%d event keys kept (%v), want 5", r.Count, err)
	}
}
