package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/testutil/wait"
)

// upstream is a real HTTP upstream whose behaviour a test can switch.
type upstream struct {
	*httptest.Server
	hits  atomic.Int64
	fail  atomic.Bool
	delay atomic.Int64 // nanoseconds
}

func newUpstream(t *testing.T, version string) *upstream {
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.hits.Add(1)
		if d := time.Duration(u.delay.Load()); d > 0 {
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
		if u.fail.Load() {
			http.Error(w, `{"error":"broken release"}`, http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"version":"` + version + `"}`))
	}))
	t.Cleanup(u.Close)
	return u
}

const rolloutYAML = `
listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: {{STATE}}
upstreams:
  v1: { targets: [{{V1}}] }
  v2: { targets: [{{V2}}], timeout: 10s }
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
      weight: {{WEIGHT}}
      sticky: header:X-User-ID
      steps: {{STEPS}}
      step_interval: {{STEP_INTERVAL}}
      analysis:
        window: {{WINDOW}}
        min_requests: 20
        max_error_rate: 0.05
        max_latency_p95: 300ms
`

func rolloutVars(t *testing.T, v1, v2 *upstream) map[string]string {
	return map[string]string{"STATE": "memory", "V1": v1.URL, "V2": v2.URL, "WEIGHT": "10",
		"STEPS": "[]", "STEP_INTERVAL": "1h", "WINDOW": "5s"}
}

// TestProcessRollbackOnErrors: `to` starts answering 500 mid-run at weight
// 10; the weight must reach 0 by itself and no further unpinned request
// reaches `to`. The delay is recorded, not asserted.
func TestProcessRollbackOnErrors(t *testing.T) {
	v1, v2 := newUpstream(t, "v1"), newUpstream(t, "v2")
	p := startProc(t, writeConfig(t, t.TempDir(), rolloutYAML, rolloutVars(t, v1, v2)))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l := startLoad(ctx, p.URL, 4)
	wait.For(t, 20*time.Second, "50 requests at v2", func() bool { return v2.hits.Load() >= 50 })
	if s := p.status(t, "users"); s.State != "progressing" || s.Weight != 10 {
		t.Fatalf("before the failure: %+v", s)
	}
	v2.fail.Store(true)
	delay := p.waitStatus(t, "users", 30*time.Second, "rollback", func(s rolloutStatus) bool {
		return s.State == "rolled_back" && s.Weight == 0
	})
	t.Logf("rollback delay after v2 started failing every request: %v", delay)
	s := p.status(t, "users")
	if !strings.Contains(s.Reason, "error_rate") || !strings.Contains(s.Reason, "max 0.05") {
		t.Fatalf("reason %q must name the check, its value and the threshold", s.Reason)
	}
	// Each of the 4 workers sends one request at a time: 100 answers after
	// the rollback, those in flight at the rollback have finished; 500
	// more answers must then leave v2 alone.
	l.waitAnswers(t, 100)
	after := v2.hits.Load()
	l.waitAnswers(t, 500)
	cancel()
	l.wg.Wait()
	if extra := v2.hits.Load() - after; extra != 0 {
		t.Fatalf("%d requests reached v2 after the rollback", extra)
	}
}

// waitAnswers waits (at most 30 s) until the load has had n more answers.
func (l *load) waitAnswers(t *testing.T, n int) {
	t.Helper()
	answers := func() int {
		l.mu.Lock()
		defer l.mu.Unlock()
		sum := 0
		for _, c := range l.status {
			sum += c
		}
		return sum
	}
	from := answers()
	wait.For(t, 30*time.Second, fmt.Sprintf("%d more answers", n), func() bool { return answers() >= from+n })
}

// TestProcessRollbackOnLatency: `to` becomes slow (p95 over 300ms).
func TestProcessRollbackOnLatency(t *testing.T) {
	v1, v2 := newUpstream(t, "v1"), newUpstream(t, "v2")
	vars := rolloutVars(t, v1, v2)
	vars["WINDOW"] = "3s"
	p := startProc(t, writeConfig(t, t.TempDir(), rolloutYAML, vars))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l := startLoad(ctx, p.URL, 8)
	defer l.wg.Wait()
	defer cancel()
	wait.For(t, 20*time.Second, "30 requests at v2", func() bool { return v2.hits.Load() >= 30 })
	v2.delay.Store(int64(800 * time.Millisecond))
	delay := p.waitStatus(t, "users", 30*time.Second, "rollback on latency", func(s rolloutStatus) bool {
		return s.State == "rolled_back" && s.Weight == 0
	})
	t.Logf("rollback delay after v2 became slow (window 3s): %v", delay)
	if s := p.status(t, "users"); !strings.Contains(s.Reason, "latency_p95") {
		t.Fatalf("reason %q", s.Reason)
	}
}

// TestProcessStepsToPromotion: a healthy `to` walks 10 → 25 → 50 → 100.
func TestProcessStepsToPromotion(t *testing.T) {
	v1, v2 := newUpstream(t, "v1"), newUpstream(t, "v2")
	vars := rolloutVars(t, v1, v2)
	vars["STEPS"], vars["STEP_INTERVAL"], vars["WINDOW"] = "[10, 25, 50, 100]", "1s", "2s"
	p := startProc(t, writeConfig(t, t.TempDir(), rolloutYAML, vars))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l := startLoad(ctx, p.URL, 4)
	defer l.wg.Wait()
	defer cancel()
	seen := map[float64]bool{}
	p.waitStatus(t, "users", 60*time.Second, "promotion", func(s rolloutStatus) bool {
		seen[s.Weight] = true
		return s.State == "promoted"
	})
	if !seen[25] || !seen[50] || !seen[100] {
		t.Fatalf("weights seen %v, want 25, 50 and 100", seen)
	}
	resp, err := http.Get(p.AdminURL + "/api/v1/events?service=users")
	if err != nil {
		t.Fatal(err)
	}
	var evs struct {
		Events []struct{ Type string } `json:"events"`
	}
	json.NewDecoder(resp.Body).Decode(&evs)
	resp.Body.Close()
	var types []string
	for _, e := range evs.Events {
		types = append(types, e.Type)
	}
	if got := strings.Join(types, ","); got != "rollout_started,step,step,promotion" {
		t.Fatalf("events %s", got)
	}
}

// TestProcessKill9Resumes kills turnout with SIGKILL while a rollout is
// progressing and requires the restart to resume at the same state and
// weight; a rolled-back rollout stays rolled back across a restart too.
func TestProcessKill9Resumes(t *testing.T) {
	v1, v2 := newUpstream(t, "v1"), newUpstream(t, "v2")
	dir := t.TempDir()
	vars := rolloutVars(t, v1, v2)
	vars["STATE"], vars["STEPS"], vars["STEP_INTERVAL"], vars["WINDOW"] = "./turnout.db", "[10, 25, 50, 100]", "3s", "2s"
	path := writeConfig(t, dir, rolloutYAML, vars)
	p := startProc(t, path)
	ctx, cancel := context.WithCancel(context.Background())
	l := startLoad(ctx, p.URL, 4)
	p.waitStatus(t, "users", 60*time.Second, "step to 25", func(s rolloutStatus) bool { return s.Weight == 25 })
	before := p.status(t, "users")
	p.kill()
	cancel()
	l.wg.Wait()
	if _, err := os.Stat(filepath.Join(dir, "turnout.db")); err != nil {
		t.Fatalf("state file: %v", err)
	}
	p2 := startProc(t, path)
	after := p2.status(t, "users")
	if after.State != "progressing" || after.Weight != before.Weight || after.Step != before.Step {
		t.Fatalf("after kill -9: %+v, before %+v", after, before)
	}
	// Roll it back by hand, kill again: it must stay rolled back.
	req, _ := http.NewRequest(http.MethodPost, p2.AdminURL+"/api/v1/rollouts/users/abort", nil)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("abort: %v %v", err, resp)
	}
	resp.Body.Close()
	p2.kill()
	p3 := startProc(t, path)
	if s := p3.status(t, "users"); s.State != "rolled_back" || s.Weight != 0 {
		t.Fatalf("rolled back state lost across restart: %+v", s)
	}
}

// TestProcessLockedStateRefusesToStart: a second turnout on the same state
// file exits with an error naming the file instead of starting fresh.
func TestProcessLockedStateRefusesToStart(t *testing.T) {
	v1, v2 := newUpstream(t, "v1"), newUpstream(t, "v2")
	dir := t.TempDir()
	vars := rolloutVars(t, v1, v2)
	vars["STATE"] = "./turnout.db"
	path := writeConfig(t, dir, rolloutYAML, vars)
	startProc(t, path)
	out, err := exec.Command(binary, "serve", "-c", path, "--state-wait", "300ms").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "turnout.db") || !strings.Contains(string(out), "locked") {
		t.Fatalf("second serve: err %v, output:\n%s", err, out)
	}
}

// TestProcessTokenRequired: with TURNOUT_ADMIN_TOKEN set, the API and the
// CLI refuse mutations without the token and accept them with it.
func TestProcessTokenRequired(t *testing.T) {
	v1, v2 := newUpstream(t, "v1"), newUpstream(t, "v2")
	p := startProc(t, writeConfig(t, t.TempDir(), rolloutYAML, rolloutVars(t, v1, v2)), "TURNOUT_ADMIN_TOKEN=s3cret")
	post := func(token string) int {
		req, _ := http.NewRequest(http.MethodPost, p.AdminURL+"/api/v1/rollouts/users/pause", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := post(""); c != 401 {
		t.Fatalf("no token: %d", c)
	}
	if c := post("wrong"); c != 401 {
		t.Fatalf("wrong token: %d", c)
	}
	cli := func(token string, args ...string) (string, error) {
		cmd := exec.Command(binary, append(args, "--admin", p.AdminURL)...)
		cmd.Env = append(os.Environ(), "TURNOUT_ADMIN_TOKEN="+token)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := cli("", "pause", "users"); err == nil || !strings.Contains(out, "TURNOUT_ADMIN_TOKEN") {
		t.Fatalf("CLI without token: %v %s", err, out)
	}
	if out, err := cli("nope", "pause", "users"); err == nil || !strings.Contains(out, "refused the token") {
		t.Fatalf("CLI wrong token: %v %s", err, out)
	}
	if s := p.status(t, "users"); s.State != "progressing" {
		t.Fatalf("a refused mutation changed the state: %+v", s)
	}
	if out, err := cli("s3cret", "pause", "users"); err != nil || !strings.Contains(out, "paused") {
		t.Fatalf("CLI with token: %v %s", err, out)
	}
	if out, err := cli("", "status", "users"); err != nil || !strings.Contains(out, "paused") {
		t.Fatalf("status needs no token: %v %s", err, out)
	}
}
