package cluster

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/admin"
	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/store"
	"github.com/turnout-gw/turnout/internal/testutil/etcdtest"
	"github.com/turnout-gw/turnout/internal/testutil/wait"
)

// TestReloadEventsQueuedWhileDown: with etcd stopped (and the member's
// lease lost), reload events are queued, not appended, so a reload does
// not wait for etcd; the events read then come from the member's local
// log, marked local. When etcd returns they are appended once each, in
// order, numbered by the fleet.
func TestReloadEventsQueuedWhileDown(t *testing.T) {
	srv := etcdtest.Start(t)
	cfg, err := config.Parse("fleet.yaml", []byte(fleetYAML))
	if err != nil {
		t.Fatal(err)
	}
	a := newMember(t, srv, "a", cfg)
	wait.For(t, deadline, "a to lead", a.runner.Leading)
	srv.Stop()
	wait.For(t, deadline, "a to lose its lease", func() bool { return a.b.Alive() != nil })

	const reloads = 5
	var msgs []string
	for i := range reloads {
		msg := fmt.Sprintf("configuration fleet.yaml unchanged (reload %d)", i)
		msgs = append(msgs, msg)
		ev, err := a.st.Append(store.Event{Type: "config_reload", Actor: "signal", Message: msg})
		if err != nil || ev.Seq != 0 {
			t.Fatalf("reload %d with etcd stopped: %+v %v; want it queued", i, ev, err)
		}
	}
	if n := a.st.Queued(); n != reloads {
		t.Fatalf("%d events queued, want %d", n, reloads)
	}
	evs, local, err := a.st.EventsFrom(store.EventQuery{})
	if err != nil || !local {
		t.Fatalf("events with etcd stopped: local %v, %v; want the local log", local, err)
	}
	if got := reloadMessages(evs); !slices.Equal(got, msgs) {
		t.Fatalf("the local log's reloads %q, want %q", got, msgs)
	}

	srv.Start()
	wait.ForErr(t, deadline, "the queued events to reach etcd", func() error {
		if n := a.st.Queued(); n != 0 {
			return fmt.Errorf("%d still queued", n)
		}
		return nil
	})
	evs, err = a.b.Events(ctx(t), store.EventQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if got := reloadMessages(evs); !slices.Equal(got, msgs) {
		t.Fatalf("the fleet's reloads %q, want each once, in order: %q", got, msgs)
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].Seq != evs[i-1].Seq+1 {
			t.Fatalf("the fleet's sequence %d after %d", evs[i].Seq, evs[i-1].Seq)
		}
	}
	if _, local, err := a.st.EventsFrom(store.EventQuery{}); err != nil || local {
		t.Fatalf("events with etcd back: local %v, %v; want the fleet's", local, err)
	}
}

func reloadMessages(evs []store.Event) []string {
	var out []string
	for _, ev := range evs {
		if ev.Type == "config_reload" {
			out = append(out, ev.Message)
		}
	}
	return out
}

// TestEventsEndpointFallsBackToLocal: with etcd stopped, GET
// /api/v1/events answers 200 from the member's local log and says so in
// the X-Turnout-Events-Source header and the body's source field.
func TestEventsEndpointFallsBackToLocal(t *testing.T) {
	srv := etcdtest.Start(t)
	cfg, err := config.Parse("fleet.yaml", []byte(fleetYAML))
	if err != nil {
		t.Fatal(err)
	}
	a := newMember(t, srv, "a", cfg)
	api := httptest.NewServer(admin.New(admin.Options{Events: a.st, Token: func() string { return "tok" }}))
	defer api.Close()
	get := func() (*http.Response, admin.EventList) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, api.URL+"/api/v1/events", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer tok")
		resp, err := api.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var list admin.EventList
		if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
			t.Fatalf("status %d: %v", resp.StatusCode, err)
		}
		return resp, list
	}
	if resp, list := get(); resp.StatusCode != http.StatusOK || list.Source != "" || resp.Header.Get(admin.EventsSourceHeader) != "" {
		t.Fatalf("with etcd up: %d, source %q, header %q", resp.StatusCode, list.Source, resp.Header.Get(admin.EventsSourceHeader))
	}
	srv.Stop()
	resp, list := get()
	if resp.StatusCode != http.StatusOK || list.Source != "local" || resp.Header.Get(admin.EventsSourceHeader) != "local" {
		t.Fatalf("with etcd stopped: %d, source %q, header %q; want 200 from the local log", resp.StatusCode, list.Source, resp.Header.Get(admin.EventsSourceHeader))
	}
	if len(list.Events) != 1 || list.Events[0].Type != "rollout_started" {
		t.Fatalf("the local log %+v, want the rollout's start this member recorded", list.Events)
	}
}

// TestQueueDoesNotAppendTwice: events whose append may have been made
// (it timed out after etcd took it) are checked against the fleet's log
// when queued again: the ones etcd holds are not appended a second time,
// the rest follow them in order.
func TestQueueDoesNotAppendTwice(t *testing.T) {
	srv := etcdtest.Start(t)
	b := open(t, srv)
	local, err := store.Open(store.MemoryPath)
	if err != nil {
		t.Fatal(err)
	}
	st := NewStore(b, local, "a", nil)
	t.Cleanup(func() { _ = st.Close() })
	at := time.Now().UTC()
	var evs []store.Event
	for i := range 3 {
		evs = append(evs, store.Event{At: at.Add(time.Duration(i)), Type: "config_reload", Actor: "signal", Message: fmt.Sprintf("reload %d", i)})
	}
	evs = st.stamp(evs)
	if _, err := b.AppendEvents(ctx(t), evs[:2]...); err != nil { // made, but its caller did not learn it
		t.Fatal(err)
	}
	st.queue.push(true, evs...)
	wait.For(t, deadline, "the queue to drain", func() bool { return st.Queued() == 0 })
	got, err := b.Events(ctx(t), store.EventQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if msgs, want := reloadMessages(got), []string{"reload 0", "reload 1", "reload 2"}; !slices.Equal(msgs, want) {
		t.Fatalf("the fleet's log %q, want each once: %q", msgs, want)
	}
}
