package gateway_test

import (
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/gateway"
	"github.com/turnout-gw/turnout/internal/rollout"
	"github.com/turnout-gw/turnout/internal/testutil"
)

// seeded returns a goroutine-safe random source with a fixed seed.
func seeded(seed uint64) func() uint64 {
	var mu sync.Mutex
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	return func() uint64 {
		mu.Lock()
		defer mu.Unlock()
		return r.Uint64()
	}
}

const faultYAML = `
upstreams:
  v1: { targets: [{{V1}}] }
  v2: { targets: [{{V2}}] }
services:
  users:
    match: { path_prefix: /users }
    default: v1
    versions:
      v1: { upstream: v1 }
      v2:
        upstream: v2
        fault:
          abort: { percent: 30, status: 503 }
          delay: { percent: 10, duration: 1ms }
    rules:
      - name: chaos
        match: { header: { X-Chaos: "on" } }
        version: v1
        fault: { abort: { percent: 100, status: 429 } }
`

// TestFaultShares: 2,000 requests to a version with a 30 % abort and a
// 10 % delay fault see each within three percentage points; aborted
// requests never reach the upstream; a rule's fault replaces the version's.
func TestFaultShares(t *testing.T) {
	v1, v2 := newSeen(t, "v1"), newSeen(t, "v2")
	tt := testutil.StartWith(t, faultYAML, map[string]string{"V1": v1.srv.URL, "V2": v2.srv.URL},
		gateway.AppOptions{Rand: seeded(7)})
	const n = 2000
	aborted := 0
	c := &http.Client{}
	for i := 0; i < n; i++ {
		resp, err := c.Do(testutil.NewRequest(t, http.MethodGet, tt.URL+"/users/1", "X-API-Version: v2"))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode == 503 && resp.Header.Get("X-Turnout-Fault") == "abort" && resp.Header.Get("X-Served-Version") == "v2":
			aborted++
		case resp.StatusCode != 200:
			t.Fatalf("request %d: status %d", i, resp.StatusCode)
		}
	}
	if share := 100 * float64(aborted) / n; math.Abs(share-30) > 3 {
		t.Errorf("aborted %.1f %%, want 30 ± 3", share)
	}
	if got := v2.count(); got != n-aborted {
		t.Errorf("upstream saw %d requests, want %d (aborted ones must not reach it)", got, n-aborted)
	}
	delays, _ := strconv.Atoi(testutil.Metric(t, tt, `turnout_faults_injected_total{kind="delay",service="users",version="v2"}`))
	if share := 100 * float64(delays) / n; math.Abs(share-10) > 3 {
		t.Errorf("delayed %.1f %%, want 10 ± 3", share)
	}
	t.Logf("aborted %d, delayed %d of %d", aborted, delays, n)
	if got := testutil.Metric(t, tt, `turnout_faults_injected_total{kind="abort",service="users",version="v2"}`); got != strconv.Itoa(aborted) {
		t.Errorf("abort metric %s, want %d", got, aborted)
	}
	status, _, _ := testutil.Get(t, c, tt.URL+"/users/1", "X-Chaos: on")
	if status != 429 || v1.count() != 0 {
		t.Errorf("rule fault: status %d, v1 hits %d; want 429 and 0", status, v1.count())
	}
	if status, _, _ := testutil.Get(t, c, tt.URL+"/users/1"); status != 200 {
		t.Errorf("v1 without the rule: status %d", status)
	}
}

const rehearsalYAML = `
upstreams:
  v1: { targets: [{{V1}}] }
  v2: { targets: [{{V2}}] }
services:
  users:
    match: { path_prefix: /users }
    default: v1
    versions:
      v1: { upstream: v1 }
      v2: { upstream: v2, fault: { abort: { percent: 50, status: 500 } } }
    rollout:
      from: v1
      to: v2
      weight: 50
      analysis: { window: 5s, interval: 50ms, min_requests: 20, max_error_rate: 0.1 }
`

// TestFaultRehearsalRollsBack: a rehearsed bad v2 (half its requests
// aborted with 500) fails the rollout's analysis and is rolled back.
func TestFaultRehearsalRollsBack(t *testing.T) {
	v1, v2 := newSeen(t, "v1"), newSeen(t, "v2")
	tt := testutil.StartWith(t, rehearsalYAML, map[string]string{"V1": v1.srv.URL, "V2": v2.srv.URL},
		gateway.AppOptions{Rand: seeded(3), Tick: 20 * time.Millisecond})
	c := &http.Client{}
	state := func() rollout.Status {
		st, err := tt.App.Engine.Status("users")
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	for i := 0; i < 2000 && state().State != rollout.RolledBack; i++ {
		resp, err := c.Get(tt.URL + "/users/1")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if i%50 == 49 { // let the engine analyse this batch
			sent := time.Now()
			testutil.Eventually(t, 5*time.Second, "an analysis after the batch", func() bool {
				st := state()
				return st.State == rollout.RolledBack || st.LastAnalysis != nil && st.LastAnalysis.At.After(sent)
			})
		}
	}
	testutil.Eventually(t, 5*time.Second, "rollback", func() bool { return state().State == rollout.RolledBack })
	if st := state(); st.Weight != 0 {
		t.Errorf("weight %v after rollback", st.Weight)
	}
}

// TestFaultDelayEndsWithClient: a client that gives up during an injected
// delay ends it; the request never reaches the upstream.
func TestFaultDelayEndsWithClient(t *testing.T) {
	v1, v2 := newSeen(t, "v1"), newSeen(t, "v2")
	yaml := strings.Replace(faultYAML, "delay: { percent: 10, duration: 1ms }", "delay: { percent: 100, duration: 10m }", 1)
	yaml = strings.Replace(yaml, "abort: { percent: 30, status: 503 }", "abort: { percent: 0, status: 503 }", 1)
	tt := testutil.Start(t, yaml, map[string]string{"V1": v1.srv.URL, "V2": v2.srv.URL})
	c := &http.Client{Timeout: 200 * time.Millisecond}
	if resp, err := c.Do(testutil.NewRequest(t, http.MethodGet, tt.URL+"/users/1", "X-API-Version: v2")); err == nil {
		resp.Body.Close()
		t.Fatalf("status %d during a 10-minute delay", resp.StatusCode)
	}
	testutil.Eventually(t, 5*time.Second, "the delayed request to finish", func() bool {
		return testutil.Metric(t, tt, `turnout_requests_total{code="499",service="users",version="v2"}`) == "1"
	})
	if v2.count() != 0 {
		t.Errorf("v2 saw %d requests", v2.count())
	}
}
