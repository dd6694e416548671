package rollout

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/store"
	"github.com/turnout-gw/turnout/internal/testutil/wait"
)

// TestNotifierRetriesAndDelivers: a webhook that fails twice receives the
// third attempt with a Slack-compatible text and the structured event.
func TestNotifierRetriesAndDelivers(t *testing.T) {
	var calls atomic.Int64
	var mu sync.Mutex
	var got Payload
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
			t.Errorf("decode: %v", err)
		}
	}))
	defer srv.Close()
	n := NewNotifier(nil, 16, 5, 10*time.Millisecond)
	defer n.Close()
	n.Send([]string{srv.URL}, store.Event{Seq: 7, Service: "users", Type: "rollback", Message: "rolled back from weight 10 to 0: error_rate 0.5 > max 0.05"})
	wait.For(t, 10*time.Second, "the event sent", func() bool { sent, _, _ := n.Stats(); return sent == 1 })
	sent, failed, dropped := n.Stats()
	if sent != 1 || failed != 0 || dropped != 0 || calls.Load() != 3 {
		t.Fatalf("sent %d failed %d dropped %d after %d calls", sent, failed, dropped, calls.Load())
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(got.Text, "users") || !strings.Contains(got.Text, "rolled back") || got.Event.Type != "rollback" || got.Event.Seq != 7 {
		t.Fatalf("payload %+v", got)
	}
}

// TestNotifierNeverBlocks: a hung webhook and a full queue drop and count
// instead of blocking the caller.
func TestNotifierNeverBlocks(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	n := NewNotifier(nil, 2, 1, time.Millisecond)
	defer n.Close()
	var returned atomic.Bool
	go func() { // the webhook stays hung until the test ends
		for i := 0; i < 50; i++ {
			n.Send([]string{srv.URL}, store.Event{Service: "users", Type: "step"})
		}
		returned.Store(true)
	}()
	wait.For(t, 10*time.Second, "50 Sends to return while the webhook hangs", returned.Load)
	if _, _, dropped := n.Stats(); dropped < 40 {
		t.Fatalf("dropped %d of 50 with a queue of 2 and a hung webhook", dropped)
	}
}

// TestEngineNotifiesStateChanges: a rollback reaches the rollout's notify URL.
func TestEngineNotifiesStateChanges(t *testing.T) {
	got := make(chan Payload, 8)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p Payload
		json.NewDecoder(r.Body).Decode(&p)
		got <- p
	}))
	defer srv.Close()
	text := strings.Replace(yamlWith("10", "[]", "rollback", ""), "on_failure: rollback", "on_failure: rollback\n      notify: ["+srv.URL+"]", 1)
	h := newHarness(t, text)
	n := NewNotifier(nil, 16, 3, 10*time.Millisecond)
	defer n.Close()
	h.eng.notify = n
	h.traffic("v2", 3, 10, 10, time.Millisecond)
	types := map[string]bool{}
	timeout := time.After(10 * time.Second)
	for !types["rollback"] {
		select {
		case p := <-got:
			types[p.Event.Type] = true
		case <-timeout:
			t.Fatalf("no rollback notification; got %v", types)
		}
	}
	if !types["analysis_failure"] {
		t.Fatalf("notifications %v, want analysis_failure and rollback", types)
	}
}
