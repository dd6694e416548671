package gateway_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/gateway"
	"github.com/turnout-gw/turnout/internal/lifecycle"
	"github.com/turnout-gw/turnout/internal/mirror"
	"github.com/turnout-gw/turnout/internal/rollout"
	"github.com/turnout-gw/turnout/internal/testutil"
	"github.com/turnout-gw/turnout/internal/testutil/testclock"
	"github.com/turnout-gw/turnout/internal/testutil/wait"
	"github.com/turnout-gw/turnout/internal/usage"
)

// retireStep is examples/retire-v1's step n as it runs here: the example's
// backends and state file replaced by the test's, its rollout's times cut
// from minutes to a fraction of a second.
func retireStep(t *testing.T, n int, vars map[string]string) string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "examples", "retire-v1", fmt.Sprintf("%d-*.yaml", n)))
	if err != nil || len(files) != 1 {
		t.Fatalf("step %d: %v %v", n, files, err)
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	docs, err := filepath.Abs(filepath.Join("..", "..", "examples", "openapi"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.NewReplacer(
		"http://127.0.0.1:9001", vars["V1"], "http://127.0.0.1:9002", vars["V2"],
		"listen: 127.0.0.1:8080", "listen: 127.0.0.1:0", "listen: 127.0.0.1:9090", "listen: 127.0.0.1:0",
		"turnout-state.db", vars["STATE"], "../openapi/", docs+"/",
		"step_interval: 10m", "step_interval: 300ms", "window: 5m", "window: 5s", "min_requests: 100", "min_requests: 5",
	).Replace(string(b))
}

// callAs sends a v1 client's request as client and returns the answer's
// status and Deprecation header.
func callAs(t *testing.T, base, client string, c v1Call, pin bool) (int, string) {
	t.Helper()
	req, err := http.NewRequest(c.method, base+c.path, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	if c.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-Client-ID", client)
	if pin {
		req.Header.Set("X-API-Version", "v1")
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Deprecation")
}

// noRedirects is a client that shows a redirect instead of following it.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// TestRetireV1InFourSteps walks examples/retire-v1 through real listeners
// and the two backends of the adapter proof: (1) the usage counts say who
// calls v1; (2) the adapter, mirrored against v1's backend, differs only
// where the example ignores; (3) a rollout moves v1's traffic onto the
// adapter, checked against v1's OpenAPI document, and promotes; (4) with
// v1's backend gone, the schedule deprecates v1, holds its redirect while a
// client still calls, is forced by a person, and makes v1 gone once the
// last client is quiet.
func TestRetireV1InFourSteps(t *testing.T) {
	vars := proofVars(t)
	vars["STATE"] = filepath.Join(t.TempDir(), "state.db")
	tt := testutil.StartWith(t, retireStep(t, 1, vars), nil, gateway.AppOptions{Watch: true, Debounce: 50 * time.Millisecond, Tick: 20 * time.Millisecond})

	// 1. Who calls v1.
	for i, c := range v1Calls(12) {
		client := []string{"billing", "billing", "mobile", "billing", "web", "mobile"}[i%6]
		if code, dep := callAs(t, tt.URL, client, c, false); code != c.status || dep != "true" {
			t.Fatalf("step 1 %s %s: %d (Deprecation %q), want %d from v1's backend, deprecated", c.method, c.path, code, dep, c.status)
		}
	}
	var used usage.Version
	testutil.GetJSON(t, tt.AdminURL+"/api/v1/usage/users?version=v1", &used)
	got := map[string]uint64{}
	for _, c := range used.Clients {
		got[c.Client] = c.Requests
	}
	if fmt.Sprint(got) != fmt.Sprint(map[string]uint64{"billing": 6, "mobile": 4, "web": 2}) {
		t.Fatalf("step 1: who calls v1: %v", got)
	}

	// 2. The adapter, proven against v1's backend on mirrored GETs.
	reload(t, tt, retireStep(t, 2, vars), "step 2 with its mirror", func() bool {
		var r mirror.Report
		return hasVersion(t, tt, "v1-legacy")() && testutil.GetJSON(t, tt.AdminURL+"/api/v1/diffs/users", &r) == http.StatusOK && r.To == "v1"
	})
	gets := 0
	for _, c := range v1Calls(60) {
		if c.method == http.MethodGet {
			gets++
			if code, _ := callAs(t, tt.URL, "billing", c, false); code != c.status {
				t.Fatalf("step 2 GET %s: %d, want %d", c.path, code, c.status)
			}
		}
	}
	var rep mirror.Report
	wait.ForErr(t, 20*time.Second, "every GET mirrored and compared", func() error {
		rep = mirror.Report{}
		testutil.GetJSON(t, tt.AdminURL+"/api/v1/diffs/users", &rep)
		// Every GET sent after the reload is mirrored; the check asks for
		// nearly all of them, every copy sent so far compared.
		if rep.Sent < uint64(gets)*9/10 || rep.Compared+rep.Error+rep.Dropped != rep.Sent {
			return fmt.Errorf("%d GETs, report %+v", gets, rep)
		}
		return nil
	})
	t.Logf("step 2: %d GETs mirrored: %+v", gets, rep)
	if rep.Diff != 0 || rep.Error != 0 || rep.ServedBy != "v2" {
		t.Fatalf("step 2: the adapter against v1's backend: %d differ, %d errors (%s), served by %q; want none with /email ignored",
			rep.Diff, rep.Error, rep.LastError, rep.ServedBy)
	}

	// 3. v1's traffic moves onto the adapter, gated by v1's document.
	reload(t, tt, retireStep(t, 3, vars), "step 3", func() bool {
		return testutil.GetJSON(t, tt.AdminURL+"/api/v1/rollouts/users", &rollout.Status{}) == http.StatusOK
	})
	var st rollout.Status
	calls := v1Calls(300)                   // users that exist in both backends, and some that do not
	end := time.Now().Add(60 * time.Second) // a bound, not a measurement
	for i := 0; st.State != rollout.Promoted; i++ {
		if i == 200_000 || time.Now().After(end) {
			t.Fatalf("step 3: not promoted after %d requests: %+v", i, st)
		}
		c := calls[i%len(calls)]
		if code, _ := callAs(t, tt.URL, "billing", c, false); code != c.status {
			t.Fatalf("step 3 %s %s: %d, want %d (weight %v)", c.method, c.path, code, c.status, st.Weight)
		}
		if i%10 == 0 {
			testutil.GetJSON(t, tt.AdminURL+"/api/v1/rollouts/users", &st)
		}
		if st.State == rollout.RolledBack {
			t.Fatalf("step 3: rolled back: %s", st.Reason)
		}
	}
	if v := validationOf(t, tt.AdminURL, "v1", 1); v.Violations != 0 {
		t.Fatalf("step 3: %d answers of the adapter broke v1's document", v.Violations)
	}

	// 4. v1's backend is gone; the schedule retires v1, waiting for billing.
	tt.App.Stop(t.Context())
	clk := testclock.New(time.Date(2027, 2, 28, 23, 58, 0, 0, time.UTC))
	tt = testutil.StartWith(t, retireStep(t, 4, vars), nil, gateway.AppOptions{Now: clk.Now, Tick: 10 * time.Millisecond})
	lifecycleOf := func() lifecycle.Status {
		var view struct {
			Versions []lifecycle.Status `json:"versions"`
		}
		testutil.GetJSON(t, tt.AdminURL+"/api/v1/lifecycle/users", &view)
		for _, v := range view.Versions {
			if v.Version == "v1" {
				return v
			}
		}
		t.Fatalf("step 4: no v1 in %+v", view)
		return lifecycle.Status{}
	}
	wait.For(t, 10*time.Second, "v1 deprecated (due since January)", func() bool { return lifecycleOf().Lifecycle == "deprecated" })
	one := v1Call{"GET", "/users/7", "", http.StatusOK}
	wait.ForErr(t, 10*time.Second, "v1 deprecated on the data plane", func() error {
		if code, dep := callAs(t, tt.URL, "billing", one, true); code != http.StatusOK || dep != "true" {
			return fmt.Errorf("v1 served by v2: %d, Deprecation %q", code, dep)
		}
		return nil
	})
	clk.Advance(2 * time.Minute) // 2027-03-01: redirect is due
	wait.For(t, 10*time.Second, "redirect held while billing calls", func() bool {
		s := lifecycleOf()
		return s.Held && strings.Contains(s.Reason, "by billing")
	})
	req, _ := http.NewRequest(http.MethodPost, tt.AdminURL+"/api/v1/lifecycle/users/v1/force", nil)
	req.Header.Set("Content-Type", "application/json") // an admin mutation without a token: not a browser's form
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("step 4: force: %v %v", resp, err)
	}
	resp.Body.Close()
	if code, _ := callAs(t, tt.URL, "billing", v1Call{"GET", "/users/7", "", http.StatusPermanentRedirect}, true); code != http.StatusPermanentRedirect {
		t.Fatalf("step 4: v1 after the forced redirect: %d, want 308", code)
	}
	clk.Advance(31*24*time.Hour + 11*time.Minute) // past 2027-04-01, billing quiet since the redirect
	wait.For(t, 10*time.Second, "gone applied by the schedule", func() bool { return lifecycleOf().Lifecycle == "gone" })
	// The new routing table follows the applied step.
	wait.ForErr(t, 10*time.Second, "v1 answering 410", func() error {
		if code, _ := callAs(t, tt.URL, "billing", v1Call{"GET", "/users/7", "", http.StatusGone}, true); code != http.StatusGone {
			return fmt.Errorf("v1 once gone: %d, want 410", code)
		}
		return nil
	})
}

// reload writes text as tt's configuration and waits until done says it
// is served.
func reload(t *testing.T, tt *testutil.Turnout, text, what string, done func() bool) {
	t.Helper()
	if err := os.WriteFile(tt.Path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, "the reload to "+what, done)
}

// hasVersion reports whether tt's services view lists version.
func hasVersion(t *testing.T, tt *testutil.Turnout, version string) func() bool {
	return func() bool {
		var list struct {
			Services []struct {
				Versions []struct {
					Name string `json:"name"`
				} `json:"versions"`
			} `json:"services"`
		}
		testutil.GetJSON(t, tt.AdminURL+"/api/v1/services", &list)
		for _, s := range list.Services {
			for _, v := range s.Versions {
				if v.Name == version {
					return true
				}
			}
		}
		return false
	}
}
