package mirror_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/gateway"
	"github.com/turnout-gw/turnout/internal/testutil"
)

// stickyYAML mirrors half of the users, sticky on the rollout's key.
const stickyYAML = `
upstreams:
  v1: { targets: [{{V1}}] }
  v2: { targets: [{{V2}}] }
services:
  items:
    match: { path_prefix: /items }
    default: v1
    versions: { v1: { upstream: v1 }, v2: { upstream: v2 } }
    rollout: { from: v1, to: v2, weight: 0, sticky: "header:X-User-ID" }
    mirror: { to: v2, percent: 50, compare: {} }
`

// TestMirrorStickyPercent: with a sticky rollout key, a user's requests are
// all mirrored or none are, and about percent of the users are.
func TestMirrorStickyPercent(t *testing.T) {
	echo := func(r *http.Request) string { return `{"user":"` + r.Header.Get("X-User-ID") + `"}` }
	v1, v2 := newRecorder(t, echo), newRecorder(t, echo)
	tt := testutil.Start(t, stickyYAML, map[string]string{"V1": v1.URL, "V2": v2.URL})
	c := &http.Client{Timeout: 10 * time.Second}
	const users, each = 100, 5
	for i := range users * each {
		send(t, c, "GET", fmt.Sprintf("%s/items/%d", tt.URL, i), "", fmt.Sprintf("X-User-ID: user-%d", i%users))
	}
	testutil.Eventually(t, 10*time.Second, "every copy compared", func() bool {
		_, rep := report(t, tt, "items")
		return rep.Pending == 0 && rep.Compared > 0
	})
	byUser := map[int]int{} // request i came from user i % users
	for _, s := range v2.requests(true) {
		var i int
		if _, err := fmt.Sscanf(s.Path, "/items/%d", &i); err != nil {
			t.Fatal(err)
		}
		byUser[i%users]++
	}
	for u, n := range byUser {
		if n != each {
			t.Errorf("user-%d: %d of %d requests mirrored", u, n, each)
		}
	}
	t.Logf("%d of %d users mirrored", len(byUser), users)
	if len(byUser) < 30 || len(byUser) > 70 {
		t.Errorf("%d of %d users mirrored at percent 50", len(byUser), users)
	}
}

// gateYAML rolls v2 out with max_diff_rate; v2 answers differently.
const gateYAML = `
state: {{STATE}}
upstreams:
  v1: { targets: [{{V1}}] }
  v2: { targets: [{{V2}}] }
services:
  items:
    match: { path_prefix: /items }
    default: v1
    versions: { v1: { upstream: v1 }, v2: { upstream: v2 } }
    rollout:
      from: v1
      to: v2
      weight: 50
      steps: [50, 100]
      step_interval: 1h
      analysis: { window: 5s, interval: 100ms, min_requests: 10, max_diff_rate: 0.05 }
    mirror: { to: v2, compare: {} }
`

// TestMirrorGateRollsBack: max_diff_rate rolls a rollout back when the
// mirror measures a higher diff rate.
func TestMirrorGateRollsBack(t *testing.T) {
	v1 := newRecorder(t, func(r *http.Request) string { return `{"total":10}` })
	v2 := newRecorder(t, func(r *http.Request) string { return `{"total":11}` })
	tt := testutil.Start(t, gateYAML, map[string]string{"STATE": "memory", "V1": v1.URL, "V2": v2.URL})
	c := &http.Client{Timeout: 10 * time.Second}
	type status struct {
		State  string  `json:"state"`
		Weight float64 `json:"weight"`
		Reason string  `json:"reason"`
	}
	var st status
	testutil.Eventually(t, 20*time.Second, "the rollout rolled back", func() bool {
		for i := range 20 {
			send(t, c, "GET", fmt.Sprintf("%s/items/%d", tt.URL, i), "")
		}
		resp, err := http.Get(tt.AdminURL + "/api/v1/rollouts/items")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		st = status{}
		_ = json.NewDecoder(resp.Body).Decode(&st)
		return st.State == "rolled_back"
	})
	t.Logf("state %s, weight %v, reason %q", st.State, st.Weight, st.Reason)
	if st.Weight != 0 {
		t.Errorf("weight %v after rollback", st.Weight)
	}
}

// TestMirrorSamplesSurviveRestart: the ring of differing samples is kept in
// the state store across a restart.
func TestMirrorSamplesSurviveRestart(t *testing.T) {
	v1 := newRecorder(t, func(r *http.Request) string { return `{"total":10}` })
	v2 := newRecorder(t, func(r *http.Request) string { return `{"total":11}` })
	dir := t.TempDir()
	text := testutil.Expand("listen: 127.0.0.1:0\nadmin: { listen: 127.0.0.1:0 }\n"+mirrorYAML+"\nstate: ./state.db\n",
		map[string]string{"V1": v1.URL, "V2": v2.URL, "MIRROR": "compare: {}"})
	path := filepath.Join(dir, "turnout.yaml")
	start := func() *testutil.Turnout {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		app, err := gateway.Start(cfg, path, gateway.AppOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return &testutil.Turnout{App: app, Path: path, URL: "http://" + app.Server.Addr(), AdminURL: "http://" + app.Server.AdminAddr()}
	}
	tt := start()
	c := &http.Client{Timeout: 10 * time.Second}
	for i := range 3 {
		send(t, c, "GET", fmt.Sprintf("%s/items/%d", tt.URL, i), "")
	}
	before := settled(t, tt, "items", 3)
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tt.App.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	}
	stop()
	tt = start()
	defer stop()
	_, after := report(t, tt, "items")
	if after.Compared != 0 || len(after.Samples) != 3 || after.Samples[0].Request != before.Samples[0].Request {
		t.Errorf("after a restart: %d compared, samples %+v; before: %+v", after.Compared, after.Samples, before.Samples)
	}
}

// TestMirrorReload: a reload that keeps the mirror's target and comparison
// keeps its results; one that removes the mirror block ends it (404).
func TestMirrorReload(t *testing.T) {
	v1, v2 := newRecorder(t, item("v1")), newRecorder(t, item("v2"))
	vars := map[string]string{"V1": v1.URL, "V2": v2.URL, "MIRROR": "compare: {}"}
	tt := testutil.Start(t, mirrorYAML, vars)
	c := &http.Client{Timeout: 10 * time.Second}
	for i := range 10 {
		send(t, c, "GET", fmt.Sprintf("%s/items/%d", tt.URL, i), "")
	}
	settled(t, tt, "items", 10)
	vars["MIRROR"] = "percent: 50, compare: {}"
	tt.Rewrite(t, mirrorYAML, vars)
	testutil.Eventually(t, 10*time.Second, "the new percent", func() bool {
		_, rep := report(t, tt, "items")
		return rep.Percent == 50
	})
	if _, rep := report(t, tt, "items"); rep.Compared != 10 {
		t.Errorf("after changing percent only: %d compared, want the 10 kept", rep.Compared)
	}
	tt.Rewrite(t, strings.Replace(mirrorYAML, "    mirror: { to: v2, {{MIRROR}} }\n", "", 1), vars)
	testutil.Eventually(t, 10*time.Second, "the mirror to end", func() bool {
		code, _ := report(t, tt, "items")
		return code == http.StatusNotFound
	})
	send(t, c, "GET", tt.URL+"/items/1", "")
	if got := len(v2.requests(true)); got != 10 {
		t.Errorf("v2 got %d copies, want 10 (none after the mirror was removed)", got)
	}
}
