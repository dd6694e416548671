package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/admin"
	"github.com/turnout-gw/turnout/internal/gateway"
	"github.com/turnout-gw/turnout/internal/rollout"
	"github.com/turnout-gw/turnout/internal/testutil"
	"github.com/turnout-gw/turnout/internal/testutil/wait"
)

const explainYAML = `
state: memory
upstreams:
  v1: { targets: [{{V1}}] }
  v2: { targets: [{{V2}}] }
services:
  users:
    match: { path_prefix: /users }
    default: v1
    versions:
      v1: { upstream: v1 }
      v2: { upstream: v2 }
    rollout:
      from: v1
      to: v2
      weight: 50
      steps: [50, 100]
      step_interval: 1h
      analysis:
        window: 10s
        interval: 50ms
        min_requests: 10
        max_error_rate: 0.05
`

// TestExplainRealRollback: a real gateway whose new version fails every
// request rolls it back; GET /api/v1/rollouts/users/analysis shows the
// failing evaluation with its error rate, threshold and counts, and
// `turnout explain users` says it in words with the same numbers.
func TestExplainRealRollback(t *testing.T) {
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "broken", http.StatusInternalServerError)
	}))
	t.Cleanup(failing.Close)
	tt := testutil.StartWith(t, explainYAML, map[string]string{"V1": testutil.VersionServer(t, "v1").URL, "V2": failing.URL},
		gateway.AppOptions{Tick: 10 * time.Millisecond})

	sent := 0
	wait.For(t, 20*time.Second, "users rolled back by analysis", func() bool {
		for range 5 {
			if sent < 2000 {
				resp, err := http.Get(fmt.Sprintf("%s/users/%d", tt.URL, sent))
				if err != nil {
					t.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				sent++
			}
		}
		var st rollout.Status
		testutil.GetJSON(t, tt.AdminURL+"/api/v1/rollouts/users", &st)
		return st.State == rollout.RolledBack
	})

	var list admin.AnalysisList
	if code := testutil.GetJSON(t, tt.AdminURL+"/api/v1/rollouts/users/analysis?limit=1", &list); code != http.StatusOK {
		t.Fatalf("analysis: %d", code)
	}
	if list.Service != "users" || !list.Leader || len(list.Evaluations) != 1 {
		t.Fatalf("analysis?limit=1 = %+v, want users' newest evaluation from the Turnout that decides", list)
	}
	ev := list.Evaluations[0]
	if ev.Decision != rollout.DecisionRollback || ev.Result != rollout.ResultFail || ev.Weight != 50 || ev.NewWeight != 0 ||
		ev.To.Errors == 0 || ev.Window != 10*time.Second {
		t.Fatalf("newest evaluation = %+v, want the rollback from 50 with its errors over the 10s window", ev)
	}
	var rate *rollout.Check
	for i := range ev.Checks {
		if ev.Checks[i].Name == "error_rate" {
			rate = &ev.Checks[i]
		}
	}
	if rate == nil || rate.OK || rate.Threshold != 0.05 || rate.Value <= 0.05 {
		t.Fatalf("checks %+v, want a failed error_rate above its 0.05 threshold", ev.Checks)
	}

	code, out, errOut := run(t, "explain", "users", "--admin", tt.AdminURL)
	if code != 0 {
		t.Fatalf("explain: exit %d: %s", code, errOut)
	}
	want := fmt.Sprintf("rolled back from 50%%: error_rate %.4f > 0.0500", rate.Value)
	last := strings.TrimRight(out, "\n")
	last = last[strings.LastIndex(last, "\n")+1:]
	if !strings.Contains(last, want) || !strings.Contains(last, fmt.Sprintf("%d failed", ev.To.Errors)) {
		t.Errorf("explain's last line %q, want it to say %q and the %d failed requests\n%s", last, want, ev.To.Errors, out)
	}

	code, out, _ = run(t, "explain", "users", "--admin", tt.AdminURL, "-o", "json", "--limit", "1")
	var raw admin.AnalysisList
	if err := json.Unmarshal([]byte(out), &raw); code != 0 || err != nil || len(raw.Evaluations) != 1 {
		t.Errorf("explain -o json: exit %d, %v:\n%s", code, err, out)
	}
	if code := testutil.GetJSON(t, tt.AdminURL+"/api/v1/rollouts/nope/analysis", &raw); code != http.StatusNotFound {
		t.Errorf("an unknown service's analysis: %d, want 404", code)
	}
	if code := testutil.GetJSON(t, tt.AdminURL+"/api/v1/rollouts/users/analysis?limit=0", &raw); code != http.StatusBadRequest {
		t.Errorf("limit=0: %d, want 400", code)
	}
}

// TestExplainWords: each decision in words, with the values and
// thresholds, the statistical judge's fields and a collapsed wait's count.
func TestExplainWords(t *testing.T) {
	at := time.Date(2026, 1, 1, 12, 3, 5, 0, time.Local)
	base := 0.02
	list := admin.AnalysisList{Service: "users", Leader: true, Evaluations: []rollout.Evaluation{ // newest first
		{At: at.Add(3 * time.Second), Window: 10 * time.Second, Weight: 25, Result: rollout.ResultFail, Decision: rollout.DecisionRollback,
			MinRequests: 20, To: rollout.Counts{Requests: 48, Errors: 15}, From: rollout.Counts{Requests: 50},
			Checks: []rollout.Check{{Name: "error_rate", Value: 0.3125, Threshold: 0.05, Unit: "ratio"},
				{Name: "latency_p95", Value: 0.1, Threshold: 0.5, Unit: "seconds", OK: true}}},
		{At: at.Add(2 * time.Second), Window: 15 * time.Minute, Weight: 25, Result: rollout.ResultFail, Decision: rollout.DecisionPause,
			MinRequests: 20, To: rollout.Counts{Requests: 300, Errors: 30}, From: rollout.Counts{Requests: 310, Errors: 6},
			Checks: []rollout.Check{{Name: "error_rate (statistical)", Value: 0.1, Threshold: 0.01, Baseline: &base, Unit: "ratio",
				Judgement: &rollout.Judgement{Outcome: "worse", PValue: 0.004, Effect: 0.08, NTo: 300, NFrom: 310, Confidence: 0.99}}}},
		{At: at.Add(time.Second), Window: 10 * time.Second, Weight: 10, NewWeight: 25, Result: rollout.ResultPass, Decision: rollout.DecisionStep,
			MinRequests: 20, To: rollout.Counts{Requests: 40}, From: rollout.Counts{Requests: 360},
			Checks: []rollout.Check{{Name: "latency_p95", Value: 0.612, Threshold: 0.5, Unit: "seconds", OK: true}}},
		{At: at.Add(-30 * time.Second), Last: at, Count: 4, Window: 10 * time.Second, Weight: 10, Result: rollout.ResultWaiting, Decision: rollout.DecisionWait,
			MinRequests: 20, To: rollout.Counts{Requests: 12}, Reason: "waiting for traffic: 12 of 20 requests to v2 in the last 10s"},
	}}
	var b strings.Builder
	if err := writeExplain(&b, list); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"12:02:35 waiting at 10%: waiting for traffic: 12 of 20 requests to v2 in the last 10s (window 10s, 12 requests to the new version, 0 failed, min 20; 0 to the old) ×4 until 12:03:05",
		"12:03:06 stepped 10% → 25%: latency_p95 612ms ≤ 500ms (window 10s, 40 requests to the new version, 0 failed, min 20; 360 to the old)",
		"12:03:07 paused at 25%: error_rate (statistical) 0.1000 vs old version 0.0200: worse, p_value 0.004 at 0.99 confidence, effect +0.0800, n_to 300, n_from 310 (window 15m0s, 300 requests to the new version, 30 failed, min 20; 310 to the old)",
		"12:03:08 rolled back from 25%: error_rate 0.3125 > 0.0500 (window 10s, 48 requests to the new version, 15 failed, min 20; 50 to the old)",
	}
	if got := strings.Split(strings.TrimRight(b.String(), "\n"), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("explain:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	b.Reset()
	if err := writeExplain(&b, admin.AnalysisList{Service: "users", Evaluations: []rollout.Evaluation{}}); err != nil ||
		b.String() != "this Turnout does not analyse now (in a fleet only the leader does): ask the leader for the decisions\nusers: no analysis yet on this Turnout\n" {
		t.Errorf("no evaluations: %q, %v", b.String(), err)
	}
}
