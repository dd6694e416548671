package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/testutil/wait"
)

// adminDo sends an admin mutation with the fleet's token and returns the
// status and body.
func adminDo(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+fleetToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// weightSamples is how many weights TestFleet3WeightPropagates sets to
// measure the propagation.
const weightSamples = 20

// TestFleet3WeightPropagates: `turnout weight` sent to m2 is applied on m1
// and m3; then weightSamples more weights set through m2's API measure
// the propagation from the request to each other member's switch (logged
// as p50 and p99, not asserted).
func TestFleet3WeightPropagates(t *testing.T) {
	f := startFleet(t, map[string]string{"STEPS": "10, 100", "INTERVAL": "1h"}, nil)
	cmd := exec.Command(binary, "weight", "users", "30", "--admin", f.procs["m2"].AdminURL)
	cmd.Env = append(os.Environ(), tokenEnv)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("turnout weight through m2: %v\n%s", err, out)
	}
	f.when(t, []string{"m1", "m3"}, 15*time.Second, "weight 30 from the CLI", func(s rolloutStatus) bool { return s.Weight == 30 })

	var delays []time.Duration
	for i := range weightSamples {
		w := float64(40 + i)
		start := time.Now()
		if code, body := adminDo(t, http.MethodPut, f.procs["m2"].AdminURL+"/api/v1/rollouts/users/weight", fmt.Sprintf(`{"weight": %v}`, w)); code != http.StatusOK {
			t.Fatalf("weight %v through m2: %d %s", w, code, body)
		}
		for _, at := range f.when(t, []string{"m1", "m3"}, 15*time.Second, fmt.Sprintf("weight %v", w), func(s rolloutStatus) bool { return s.Weight == w }) {
			delays = append(delays, at.Sub(start))
		}
	}
	slices.Sort(delays)
	p := func(q float64) time.Duration { return delays[min(len(delays)-1, int(q*float64(len(delays))))] }
	t.Logf("weight propagation, request to m2 → applied on m1 and m3 (%d samples, polled every %v): p50 %v, p99 %v, max %v",
		len(delays), wait.Interval, p(0.50), p(0.99), delays[len(delays)-1])
}

// TestFleet3SpecDisagreement: m3 is configured with other steps than m1
// (the leader) and m2: the rollout holds at its first weight with a reason
// naming m3 while the load runs; once m3 is reloaded with the fleet's
// spec, the rollout steps again.
func TestFleet3SpecDisagreement(t *testing.T) {
	vars := map[string]string{"STEPS": "10, 25, 50, 100", "INTERVAL": "1s"}
	f := startFleet(t, vars, map[string]map[string]string{"m3": {"STEPS": "10, 50, 100"}})
	m1 := f.procs["m1"]
	m1.waitStatus(t, "users", 30*time.Second, "a hold naming m3", func(s rolloutStatus) bool {
		return strings.Contains(s.Reason, "disagree") && strings.Contains(s.Reason, "m3")
	})
	// Several step intervals of load (the answers are the clock).
	for _, l := range f.loads {
		l.waitAnswers(t, 300)
	}
	if s := m1.status(t, "users"); s.Weight != 10 || !strings.Contains(s.Reason, "m3") {
		t.Fatalf("with m3 disagreeing: %+v, want held at 10 naming m3", s)
	}
	if got := rolloutEvents(t, m1); !slices.Equal(got, []string{"rollout_started 10"}) {
		t.Fatalf("events while held: %q", got)
	}
	t.Logf("held: %s", m1.status(t, "users").Reason)

	mv := map[string]string{"NAME": "m3"}
	for k, v := range f.vars {
		mv[k] = v
	}
	writeConfig(t, filepath.Dir(f.paths["m3"]), fleet3YAML, mv)
	if code, body := adminDo(t, http.MethodPost, f.procs["m3"].AdminURL+"/api/v1/reload", ""); code != http.StatusOK {
		t.Fatalf("reload m3: %d %s", code, body)
	}
	m1.waitStatus(t, "users", 30*time.Second, "a step once m3 agrees", func(s rolloutStatus) bool { return s.Weight >= 25 })
	if s := m1.status(t, "users"); strings.Contains(s.Reason, "m3") {
		t.Fatalf("still naming m3 after it agreed: %+v", s)
	}
}
