package cluster

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/store"
	"github.com/turnout-gw/turnout/internal/testutil/etcdtest"
	"github.com/turnout-gw/turnout/internal/testutil/wait"
)

// openSlow is open with a call bound and a lease far above the test's own
// waits: a write to a stopped etcd is tried (the lease is not lost yet)
// and stays in flight while the test looks.
func openSlow(t testing.TB, srv *etcdtest.Server) *Etcd {
	t.Helper()
	e, err := OpenEtcd(EtcdOptions{Endpoints: srv.Endpoints(), Prefix: "/t", Lease: 5 * time.Second, Timeout: 8 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// TestStatusReadsDoNotWaitForEtcd: with etcd stopped, a person's action
// waits for its write (up to the backend's bound) while the rollout
// statuses are read: every read answers while the write is still in
// flight (the order is the assertion, not a duration), and the refused
// action changes nothing.
func TestStatusReadsDoNotWaitForEtcd(t *testing.T) {
	srv := etcdtest.Start(t)
	cfg, err := config.Parse("fleet.yaml", []byte(fleetYAML))
	if err != nil {
		t.Fatal(err)
	}
	a := newMemberOn(t, openSlow(t, srv), "a", cfg)
	wait.For(t, deadline, "a to lead", a.runner.Leading)
	srv.Stop()

	var returned atomic.Bool
	done := make(chan error, 1)
	go func() {
		_, err := a.eng.SetWeight("users", 50, "api:test")
		returned.Store(true)
		done <- err
	}()
	wait.For(t, deadline, "the action's write to be in flight", wait.GoroutineIn("(*Engine).act", "(*Store).Write"))
	const reads = 200
	for i := range reads {
		if s := a.status(t); s.Weight != 10 {
			t.Fatalf("read %d: weight %v before the write was taken", i, s.Weight)
		}
		if n := len(a.eng.Statuses()); n != 1 {
			t.Fatalf("read %d: %d statuses", i, n)
		}
	}
	if returned.Load() {
		t.Fatalf("the %d reads answered only after the write to the stopped etcd returned", reads)
	}
	select {
	case err := <-done:
		if !errors.Is(err, store.ErrNotWritten) {
			t.Fatalf("the action with etcd stopped: %v, want it refused as not written", err)
		}
	case <-time.After(deadline):
		t.Fatal("the action never returned")
	}
	if s := a.status(t); s.Weight != 10 {
		t.Fatalf("the refused action left weight %v", s.Weight)
	}
}

// TestFileWeightRefusedWhileDownIsWrittenOnReturn: a reload's new file
// weight is refused while etcd is stopped (the member keeps serving the
// fleet's weight); once etcd answers again it is written, recorded once
// and published, without another reload.
func TestFileWeightRefusedWhileDownIsWrittenOnReturn(t *testing.T) {
	srv := etcdtest.Start(t)
	cfg, err := config.Parse("fleet.yaml", []byte(fleetYAML))
	if err != nil {
		t.Fatal(err)
	}
	heavier, err := config.Parse("fleet.yaml", []byte(strings.Replace(fleetYAML, "weight: 10", "weight: 20", 1)))
	if err != nil {
		t.Fatal(err)
	}
	a := newMember(t, srv, "a", cfg)
	wait.For(t, deadline, "a to lead", a.runner.Leading)
	srv.Stop()
	if err := a.eng.Sync(heavier); !errors.Is(err, store.ErrNotWritten) {
		t.Fatalf("reload with etcd stopped: %v, want not written", err)
	}
	if s := a.status(t); s.Weight != 10 {
		t.Fatalf("with etcd stopped the member serves weight %v, want the fleet's 10", s.Weight)
	}
	srv.Start()
	wait.ForErr(t, deadline, "the file's weight to be written and published", func() error {
		got, ok, err := a.b.GetRollout(ctx(t), "users")
		if err != nil || !ok || got.Weight != 20 {
			return fmt.Errorf("etcd holds %+v (%v)", got.RolloutState, err)
		}
		if w, ok := a.lastApplied(); !ok || w != 20 || a.status(t).Weight != 20 {
			return fmt.Errorf("published %v, status %v", w, a.status(t).Weight)
		}
		return nil
	})
	evs, err := a.st.Events(store.EventQuery{Service: "users"})
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, ev := range evs {
		types = append(types, ev.Type)
	}
	if want := []string{"rollout_started", "weight_change"}; !slices.Equal(types, want) {
		t.Fatalf("the fleet's events %q, want %q", types, want)
	}
}

// TestMemberBackAfterEtcdRestart: an etcd that restarts keeps every lease
// alive for another TTL, and with its lease a member's old registration.
// The member that lost its lease during the outage revokes that old lease
// once etcd answers instead of waiting for it to expire (it used to wait
// one more TTL: "another live member has this name" until then); etcd
// counts no lease expiry.
func TestMemberBackAfterEtcdRestart(t *testing.T) {
	srv := etcdtest.Start(t)
	e := joined(t, srv, "a")
	srv.Stop()
	wait.For(t, deadline, "the lease to be lost", func() bool { return e.Alive() != nil })
	srv.Start()
	wait.ForErr(t, deadline, "registered again", e.Alive)
	if n := etcdMetric(t, srv, "etcd_debugging_server_lease_expired_total"); n != 0 {
		t.Fatalf("etcd let %v leases expire after it restarted; the member's old lease should have been revoked", n)
	}
	ms, err := e.Members(ctx(t))
	if err != nil || len(ms) != 1 || ms[0].Name != "a" {
		t.Fatalf("members after the restart: %+v, %v", ms, err)
	}
}

// etcdMetric reads one counter from etcd's /metrics (0 when absent).
func etcdMetric(t *testing.T, srv *etcdtest.Server, name string) float64 {
	t.Helper()
	resp, err := http.Get(srv.Endpoint + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	return 0
}
