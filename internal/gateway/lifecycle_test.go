package gateway_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/gateway"
	"github.com/turnout-gw/turnout/internal/lifecycle"
	"github.com/turnout-gw/turnout/internal/testutil"
	"github.com/turnout-gw/turnout/internal/testutil/testclock"
	"github.com/turnout-gw/turnout/internal/testutil/wait"
)

const scheduleYAML = `
log: { level: error }
state: {{STATE}}
admin: { listen: 127.0.0.1:0, token_env: TURNOUT_TEST_SCHEDULE_TOKEN }
upstreams:
  users-v1: { targets: [{{V1}}] }
  users-v2: { targets: [{{V2}}] }
services:
  users:
    match: { path_prefix: /users }
    clients: { key: header:X-Client }
    default: v2
    versions:
      v2: { upstream: users-v2 }
      v1:
        upstream: users-v1
        successor: v2
        schedule: [ { at: 2027-01-15, lifecycle: deprecated }, { at: 2027-04-01T00:00:00Z, lifecycle: gone } ]
        hold_while: { requests: 1, window: 10m }
`

// getV1 asks for v1 through the data plane as client.
func getV1(t *testing.T, base, client string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/users/1", nil)
	req.Header.Set("X-API-Version", "v1")
	req.Header.Set("X-Client", client)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// adminJSON calls the admin API with the token and decodes a JSON answer
// into out (when not nil).
func adminJSON(t *testing.T, method, url string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	req.Header.Set("Authorization", "Bearer s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
	}
	return resp.StatusCode
}

// TestScheduleReachesTraffic: through a real listener, v1 answers with
// Deprecation headers once its deprecated step is due; its gone step is
// held while a client still calls (the services view says who), forced
// by a person through the API (recorded with the actor), after which v1
// answers 410; a restart on the same state keeps it gone.
func TestScheduleReachesTraffic(t *testing.T) {
	t.Setenv("TURNOUT_TEST_SCHEDULE_TOKEN", "s3cret")
	clk := testclock.New(time.Date(2027, 1, 14, 0, 0, 0, 0, time.UTC))
	vars := map[string]string{"STATE": filepath.Join(t.TempDir(), "state.db"),
		"V1": testutil.VersionServer(t, "v1").URL, "V2": testutil.VersionServer(t, "v2").URL}
	opts := gateway.AppOptions{Now: clk.Now, Tick: 10 * time.Millisecond}
	tt := testutil.StartWith(t, scheduleYAML, vars, opts)

	if resp := getV1(t, tt.URL, "probe"); resp.StatusCode != http.StatusOK || resp.Header.Get("Deprecation") != "" {
		t.Fatalf("before the schedule: %d, Deprecation %q", resp.StatusCode, resp.Header.Get("Deprecation"))
	}
	clk.Advance(24 * time.Hour) // 2027-01-15: deprecated
	wait.ForErr(t, 10*time.Second, "v1 deprecated on the data plane", func() error {
		resp := getV1(t, tt.URL, "probe")
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Deprecation") != "true" || !strings.Contains(resp.Header.Get("Link"), "/v2/users/1") {
			return fmt.Errorf("status %d, Deprecation %q, Link %q", resp.StatusCode, resp.Header.Get("Deprecation"), resp.Header.Get("Link"))
		}
		return nil
	})

	// Five minutes before gone is due, two clients call v1 (the usage
	// tracker counts them on the data plane, on the same clock).
	clk.Advance(76*24*time.Hour - 5*time.Minute)
	for _, c := range []string{"client-a", "client-b", "client-a"} {
		if resp := getV1(t, tt.URL, c); resp.StatusCode != http.StatusOK {
			t.Fatalf("v1 for %s: %d", c, resp.StatusCode)
		}
	}
	clk.Advance(5 * time.Minute) // 2027-04-01: gone is due, and held
	want := "held: v1 still called: 3 requests in the last 10m by client-a, client-b"
	wait.ForErr(t, 10*time.Second, "the gone step held in /api/v1/services", func() error {
		var list struct {
			Services []struct {
				Name     string `json:"name"`
				Versions []struct {
					Name       string          `json:"name"`
					Lifecycle  string          `json:"lifecycle"`
					NextStep   *lifecycle.Step `json:"next_step"`
					HoldReason string          `json:"hold_reason"`
				} `json:"versions"`
			} `json:"services"`
		}
		adminJSON(t, http.MethodGet, tt.AdminURL+"/api/v1/services", &list)
		for _, s := range list.Services {
			for _, v := range s.Versions {
				if v.Name == "v1" && v.Lifecycle == "deprecated" && v.NextStep != nil && v.NextStep.Lifecycle == "gone" &&
					v.NextStep.At.Equal(time.Date(2027, 4, 1, 0, 0, 0, 0, time.UTC)) && v.HoldReason == want {
					return nil
				}
			}
		}
		return fmt.Errorf("services: %+v", list)
	})
	if resp := getV1(t, tt.URL, "probe"); resp.StatusCode != http.StatusOK {
		t.Fatalf("v1 while gone is held: %d", resp.StatusCode)
	}

	req, _ := http.NewRequest(http.MethodPost, tt.AdminURL+"/api/v1/lifecycle/users/v1/force", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("force without the token: %v %v", resp, err)
	}
	for path, want := range map[string]int{"/api/v1/lifecycle/users/v2/force": http.StatusNotFound, "/api/v1/lifecycle/nope/v1/force": http.StatusNotFound} {
		if code := adminJSON(t, http.MethodPost, tt.AdminURL+path, nil); code != want {
			t.Fatalf("POST %s: %d, want %d", path, code, want)
		}
	}
	var forced lifecycle.Status
	if code := adminJSON(t, http.MethodPost, tt.AdminURL+"/api/v1/lifecycle/users/v1/force", &forced); code != http.StatusOK || forced.Lifecycle != "gone" {
		t.Fatalf("force: %d %+v", code, forced)
	}
	if resp := getV1(t, tt.URL, "probe"); resp.StatusCode != http.StatusGone {
		t.Fatalf("v1 after the forced gone step: %d, want 410", resp.StatusCode)
	}
	var evs struct {
		Events []struct {
			Type   string         `json:"type"`
			Actor  string         `json:"actor"`
			Fields map[string]any `json:"fields"`
		} `json:"events"`
	}
	adminJSON(t, http.MethodGet, tt.AdminURL+"/api/v1/events?service=users", &evs)
	var changed, held []string
	for _, e := range evs.Events {
		switch e.Type {
		case lifecycle.EventChanged:
			changed = append(changed, fmt.Sprintf("%s->%s by %s", e.Fields["from"], e.Fields["to"], e.Actor))
		case lifecycle.EventHeld:
			held = append(held, fmt.Sprint(e.Fields["reason"]))
		}
	}
	if len(changed) != 2 || changed[0] != "active->deprecated by schedule" || !strings.HasPrefix(changed[1], "deprecated->gone by force:") {
		t.Fatalf("lifecycle_changed events: %q", changed)
	}
	if len(held) != 1 || held[0] != want {
		t.Fatalf("lifecycle_held events: %q, want one", held)
	}

	tt.App.Stop(t.Context())
	tt = testutil.StartWith(t, scheduleYAML, vars, opts)
	if resp := getV1(t, tt.URL, "probe"); resp.StatusCode != http.StatusGone {
		t.Fatalf("v1 after a restart: %d, want 410", resp.StatusCode)
	}
}

// TestScheduleWaitsForTheLastClient: the gone step is held while the usage
// tracker saw a client call v1 within hold_while's window, and applied by
// the schedule itself once that client has been quiet for the window.
func TestScheduleWaitsForTheLastClient(t *testing.T) {
	t.Setenv("TURNOUT_TEST_SCHEDULE_TOKEN", "s3cret")
	clk := testclock.New(time.Date(2027, 3, 31, 23, 58, 0, 0, time.UTC))
	vars := map[string]string{"STATE": filepath.Join(t.TempDir(), "state.db"),
		"V1": testutil.VersionServer(t, "v1").URL, "V2": testutil.VersionServer(t, "v2").URL}
	tt := testutil.StartWith(t, scheduleYAML, vars, gateway.AppOptions{Now: clk.Now, Tick: 10 * time.Millisecond})
	held := func() (string, error) {
		var st struct {
			Versions []lifecycle.Status `json:"versions"`
		}
		adminJSON(t, http.MethodGet, tt.AdminURL+"/api/v1/lifecycle/users", &st)
		for _, v := range st.Versions {
			if v.Version == "v1" {
				return v.Lifecycle, nil
			}
		}
		return "", fmt.Errorf("no v1 in %+v", st)
	}
	wait.ForErr(t, 10*time.Second, "the deprecated step, due since January, applied at start", func() error {
		if lc, err := held(); err != nil || lc != "deprecated" {
			return fmt.Errorf("v1 is %q (%v)", lc, err)
		}
		return nil
	})
	wait.ForErr(t, 10*time.Second, "v1 deprecated on the data plane", func() error {
		if resp := getV1(t, tt.URL, "late-app"); resp.StatusCode != http.StatusOK || resp.Header.Get("Deprecation") != "true" {
			return fmt.Errorf("v1 before gone: %d, Deprecation %q", resp.StatusCode, resp.Header.Get("Deprecation"))
		}
		return nil
	})
	clk.Advance(2 * time.Minute) // gone is due
	wait.ForErr(t, 10*time.Second, "gone held for late-app", func() error {
		var st struct {
			Versions []lifecycle.Status `json:"versions"`
		}
		adminJSON(t, http.MethodGet, tt.AdminURL+"/api/v1/lifecycle/users", &st)
		for _, v := range st.Versions {
			if v.Version == "v1" && v.Held && strings.Contains(v.Reason, "by late-app") {
				return nil
			}
		}
		return fmt.Errorf("%+v", st)
	})
	if lc, err := held(); err != nil || lc != "deprecated" {
		t.Fatalf("v1 while held: %q %v", lc, err)
	}
	clk.Advance(11 * time.Minute) // late-app quiet for longer than the window
	// Looked at through the admin API only: a request to v1 would count.
	wait.ForErr(t, 10*time.Second, "gone applied by the schedule", func() error {
		if lc, err := held(); err != nil || lc != "gone" {
			return fmt.Errorf("v1 is %q (%v)", lc, err)
		}
		return nil
	})
	// The new routing table follows the applied step.
	wait.ForErr(t, 10*time.Second, "v1 answering 410", func() error {
		if resp := getV1(t, tt.URL, "late-app"); resp.StatusCode != http.StatusGone {
			return fmt.Errorf("v1 once gone: %d, want 410", resp.StatusCode)
		}
		return nil
	})
}
