package gateway_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/contract/live"
	"github.com/turnout-gw/turnout/internal/mirror"
	"github.com/turnout-gw/turnout/internal/rollout"
	"github.com/turnout-gw/turnout/internal/testutil"
)

// adaptedYAML serves v1 clients from the v2-only backend only, and
// validates every answer they get against v1's own document.
const adaptedYAML = `
state: memory
upstreams:
  u2: { targets: [{{V2}}] }
services:
  users:
    match: { path_prefix: /users }
    default: v1
    versions:
      v2: { upstream: u2, openapi: {{DOC_V2}} }
      v1:
        served_by: v2
        openapi: {{DOC_V1}}
` + v1Adapter + `    contract: { validate_percent: 100 }
`

// contractsView is the part of GET /api/v1/contracts/{service} the proof
// reads.
type contractsView struct {
	Validation  *live.Validation  `json:"validation"`
	Validations []live.Validation `json:"validations"`
}

// validationOf returns version's validation results, waiting until n
// answers were validated (or dropped).
func validationOf(t *testing.T, admin, version string, n uint64) live.Validation {
	t.Helper()
	var got live.Validation
	testutil.Eventually(t, 20*time.Second, fmt.Sprintf("%d answers of %s validated", n, version), func() bool {
		var v contractsView
		testutil.GetJSON(t, admin+"/api/v1/contracts/users", &v)
		for _, val := range v.Validations {
			if val.Version == version {
				got = val
			}
		}
		return got.Validated+got.Dropped >= n
	})
	return got
}

// v1Call is one varied v1 request and what its answer's status must be.
type v1Call struct {
	method, path, body string
	status             int
}

// v1Calls are n varied requests of a v1 client: users that exist and
// users that do not, pages of several sizes, new users active or not.
func v1Calls(n int) []v1Call {
	out := make([]v1Call, 0, n)
	for i := range n {
		switch i % 6 {
		case 0, 1, 2:
			out = append(out, v1Call{"GET", fmt.Sprintf("/users/%d", i+1), "", 200})
		case 3:
			out = append(out, v1Call{"GET", fmt.Sprintf("/users/%d", maxUser+i), "", 404})
		case 4:
			out = append(out, v1Call{"GET", fmt.Sprintf("/users?limit=%d", 1+i%50), "", 200})
		case 5:
			body := fmt.Sprintf(`{"name": "New %d"}`, i)
			if i%4 == 1 {
				body = fmt.Sprintf(`{"name": "New %d", "active": false}`, i)
			}
			out = append(out, v1Call{"POST", "/users", body, 201})
		}
	}
	return out
}

// call sends c and returns the answer's body.
func call(t *testing.T, base string, c v1Call) string {
	t.Helper()
	req, err := http.NewRequest(c.method, base+c.path, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	if c.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != c.status {
		t.Fatalf("%s %s: %d %s, want %d", c.method, c.path, resp.StatusCode, b, c.status)
	}
	return string(b)
}

// TestAdaptedAnswersKeepV1Contract: a v1 client served by the v2-only
// backend through the adapter gets answers that validate against v1's
// own document: zero violations over 300 varied requests, every one
// validated and matched to an operation, attributed to v1 served by v2's
// upstream.
func TestAdaptedAnswersKeepV1Contract(t *testing.T) {
	vars := proofVars(t)
	vars["RESPONSE"] = goodResponse
	tt := testutil.Start(t, adaptedYAML, vars)
	const n = 300
	for _, c := range v1Calls(n) {
		body := call(t, tt.URL, c)
		if strings.Contains(body, "full_name") || strings.Contains(body, "state") {
			t.Fatalf("%s %s: a v2-shaped answer %s", c.method, c.path, body)
		}
	}
	val := validationOf(t, tt.AdminURL, "v1", n)
	t.Logf("v1 served by v2: validated %d, violations %d, dropped %d, unmatched %d, operations %+v",
		val.Validated, val.Violations, val.Dropped, val.Unmatched, val.Operations)
	if val.Validated != n || val.Violations != 0 || val.Dropped != 0 || val.Unmatched != 0 || val.TooLarge != 0 {
		t.Fatalf("validation %+v, want %d answers validated and no violation", val, n)
	}
	if val.Document != "v1" || val.ServedBy != "v2" || val.Upstream != "u2" || val.Gates {
		t.Errorf("validation of v1 against %q, served by %q through %q, gates %v; want v1's own document, v2, u2, no rollout",
			val.Document, val.ServedBy, val.Upstream, val.Gates)
	}
	ops := map[string]uint64{}
	for _, o := range val.Operations {
		ops[o.Operation] = o.Validated
	}
	if want := map[string]uint64{"GET /users": n / 6, "POST /users": n / 6, "GET /users/{id}": 4 * n / 6}; fmt.Sprint(ops) != fmt.Sprint(want) {
		t.Errorf("operations validated %v, want %v", ops, want)
	}
}

// legacyAndAdaptedYAML has v1's own backend (v1-legacy, the default: v1
// clients pin no version) and v1 served by v2 with v1's document; the
// tests add a rollout or a mirror between them.
const legacyAndAdaptedYAML = `
state: memory
upstreams:
  u1: { targets: [{{V1}}] }
  u2: { targets: [{{V2}}] }
services:
  users:
    match: { path_prefix: /users }
    default: v1-legacy
    versions:
      v2: { upstream: u2 }
      v1-legacy: { upstream: u1 }            # no document: v1 is validated against its own
      v1:
        served_by: v2
        openapi: {{DOC_V1}}
` + v1Adapter

// rolloutYAML moves v1 clients from v1's own backend to v1 served by v2,
// gated by v1's document.
const rolloutYAML = legacyAndAdaptedYAML + `    rollout:
      from: v1-legacy
      to: v1
      weight: 50
      steps: [50, 100]
      step_interval: 1h
      on_failure: {{ON_FAILURE}}
      analysis: { window: 5s, interval: 100ms, min_requests: 10, max_contract_violation_rate: {{MAX}} }
    contract: { validate_percent: 100 }
`

// brokenResponse gets v1 wrong for suspended users (a third of them):
// active becomes the string "no" where v1 says boolean.
const brokenResponse = `.body |= (if type == "object" and has("full_name") then {id, name: .full_name, active: (if .state == "ACTIVE" then true else "no" end)} else . end)`

// TestBrokenAdapterGatesTheRollout: an adapter that breaks v1's contract
// for a third of the users is measured at that rate by the rollout from
// v1's own backend to v1 served by v2; below it the rollout rolls back or
// pauses as configured, above it the rollout holds its step. Violations
// are attributed to v1 through v2's upstream in the samples and metrics.
func TestBrokenAdapterGatesTheRollout(t *testing.T) {
	for _, tc := range []struct {
		max, onFailure, state string
	}{{"0.05", "rollback", rollout.RolledBack}, {"0.05", "pause", rollout.Paused}, {"0.9", "rollback", rollout.Progressing}} {
		t.Run(tc.onFailure+" "+tc.max, func(t *testing.T) {
			vars := proofVars(t)
			vars["RESPONSE"], vars["MAX"], vars["ON_FAILURE"] = brokenResponse, tc.max, tc.onFailure
			tt := testutil.StartWith(t, rolloutYAML, vars, gatewayTick())
			var st rollout.Status
			deadline := time.Now().Add(30 * time.Second)
			for i := 0; time.Now().Before(deadline); i++ {
				for j := range 30 {
					call(t, tt.URL, v1Call{"GET", fmt.Sprintf("/users/%d", (30*i+j)%(maxUser-1)+1), "", 200})
				}
				st = rollout.Status{}
				testutil.GetJSON(t, tt.AdminURL+"/api/v1/rollouts/users", &st)
				if c, found := testutil.AnalysisCheck(&st, live.GateName); st.State != rollout.Progressing || found && c.OK && st.LastAnalysis.Requests >= 150 {
					break
				}
			}
			c, found := testutil.AnalysisCheck(&st, live.GateName)
			value, ok := c.Value, c.OK
			t.Logf("state %s, weight %v, reason %q, %s %.4f", st.State, st.Weight, st.Reason, live.GateName, value)
			if st.State != tc.state || !found || ok != (tc.state == rollout.Progressing) {
				t.Fatalf("state %s (%q), check found %v ok %v; want %s", st.State, st.Reason, found, ok, tc.state)
			}
			if tc.state == rollout.Progressing && (value < 0.28 || value > 0.39) {
				t.Errorf("%s %.4f, want a third ± 0.05", live.GateName, value)
			}
			var v contractsView
			testutil.GetJSON(t, tt.AdminURL+"/api/v1/contracts/users", &v)
			g := v.Validation
			if g == nil || g.Version != "v1" || g.Document != "v1" || !g.Gates || g.Violations == 0 || len(g.Samples) == 0 {
				t.Fatalf("the rollout's validation %+v, want v1's answers against v1's document, with violations", g)
			}
			smp := g.Samples[0]
			if smp.Version != "v1" || smp.ServedBy != "v2" || smp.Upstream != "u2" || len(smp.Violations) != 1 || smp.Violations[0].Path != "/active" {
				t.Errorf("sample %+v, want v1 served by v2 through u2 breaking /active", smp)
			}
			// Answers still being validated may add to the metric after the
			// view was read, never take from it.
			series := `turnout_contract_violations_total{operation="GET /users/{id}",service="users",upstream="u2",version="v1"}`
			var count uint64
			if _, err := fmt.Sscan(testutil.Metric(t, tt, series), &count); err != nil || count < g.Violations {
				t.Errorf("metric %s = %d, want at least %d", series, count, g.Violations)
			}
		})
	}
}

// mirrorYAML serves v1 clients from v1's own backend and mirrors every
// GET to v1 served by v2, comparing what a client would get from each.
const mirrorYAML = legacyAndAdaptedYAML + `    mirror: { to: v1, percent: 100, compare: {} }
`

// TestMirrorComparesLegacyWithAdapter: mirroring v1's own backend to v1
// served by v2 adapts each copy both ways, so the diff shows how close the
// adapter is: exactly the one field it does not produce (email), on the
// users that exist and the pages of users, and nothing else — not the
// unknown users' 404s, not the paths, not the shapes. A program failing on
// a copy counts as the copy's error.
func TestMirrorComparesLegacyWithAdapter(t *testing.T) {
	vars := proofVars(t)
	vars["RESPONSE"] = `if .body.id? == "999" then error("no v1 shape for this") else ` + goodResponse + ` end`
	tt := testutil.Start(t, mirrorYAML, vars)
	const n = 120
	found, lists := 0, 0
	for i, c := range v1Calls(n) {
		if c.method != "GET" {
			c = v1Call{"GET", fmt.Sprintf("/users/%d", i+1), "", 200}
		}
		if strings.HasPrefix(c.path, "/users?") {
			lists++
		} else if c.status == 200 {
			found++
		}
		call(t, tt.URL, c)
	}
	var rep mirror.Report
	testutil.Eventually(t, 20*time.Second, "every copy compared", func() bool {
		rep = mirror.Report{}
		testutil.GetJSON(t, tt.AdminURL+"/api/v1/diffs/users", &rep)
		return rep.Compared+rep.Error+rep.Dropped == n
	})
	t.Logf("compared %d: match %d, diff %d, error %d (%s), endpoints %+v", rep.Compared, rep.Match, rep.Diff, rep.Error, rep.LastError, rep.Endpoints)
	if rep.To != "v1" || rep.ServedBy != "v2" {
		t.Errorf("mirror to %q served by %q, want v1 served by v2", rep.To, rep.ServedBy)
	}
	if rep.Error != 0 || rep.Dropped != 0 || rep.Diff != uint64(found+lists) || rep.Match != uint64(n-found-lists) {
		t.Fatalf("diff %d, match %d, error %d, dropped %d; want %d diffs (users found, pages) and %d matches (404s)",
			rep.Diff, rep.Match, rep.Error, rep.Dropped, found+lists, n-found-lists)
	}
	got := map[string]string{}
	for _, e := range rep.Endpoints {
		got[e.Endpoint] = fmt.Sprint(e.Paths)
	}
	want := map[string]string{
		"GET /users/{id}": fmt.Sprint([]mirror.PathReport{{Path: "/email", Count: uint64(found)}}),
		"GET /users":      fmt.Sprint([]mirror.PathReport{{Path: "/users/*/email", Count: uint64(lists)}}),
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("differences by endpoint %v, want %v", got, want)
	}
	// A program that fails on a copy is the copy's error, not a difference.
	call(t, tt.URL, v1Call{"GET", "/users/999", "", 200})
	testutil.Eventually(t, 20*time.Second, "the failed copy counted", func() bool {
		rep = mirror.Report{}
		testutil.GetJSON(t, tt.AdminURL+"/api/v1/diffs/users", &rep)
		return rep.Error == 1
	})
	if rep.Compared != n || !strings.Contains(rep.LastError, "mirror to v1: adapting the response of version v1: error: no v1 shape for this") {
		t.Errorf("compared %d, last error %q; want %d and the program's error", rep.Compared, rep.LastError, n)
	}
}
