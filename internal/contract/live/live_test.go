package live_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/contract/live"
	"github.com/turnout-gw/turnout/internal/gateway"
	"github.com/turnout-gw/turnout/internal/rollout"
	"github.com/turnout-gw/turnout/internal/testutil"
)

// docs copies the test documents next to the configuration's directory
// and returns their paths.
func docs(t *testing.T) map[string]string {
	t.Helper()
	dir := t.TempDir()
	vars := map[string]string{}
	for _, v := range []string{"v1", "v2"} {
		b, err := os.ReadFile(filepath.Join("testdata", "items-"+v+".yaml"))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "items-"+v+".yaml")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		vars["DOC_"+strings.ToUpper(v)] = p
	}
	return vars
}

// itemServer answers every request with an Item; when breakEvery > 0,
// every breakEvery-th answer has a string total, which v1's schema
// forbids.
func itemServer(t *testing.T, breakEvery int64) *httptest.Server {
	var n atomic.Int64
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if i := n.Add(1); breakEvery > 0 && i%breakEvery == 0 {
			fmt.Fprint(w, `{"id": 3, "total": "ten", "currency": "EUR"}`)
			return
		}
		fmt.Fprint(w, `{"id": 3, "total": 10, "currency": "EUR"}`)
	}))
	t.Cleanup(s.Close)
	return s
}

// send makes one request and returns its answer's Deprecation header.
func send(t *testing.T, c *http.Client, url string, headers ...string) string {
	t.Helper()
	resp, err := c.Do(testutil.NewRequest(t, http.MethodGet, url, headers...))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d", url, resp.StatusCode)
	}
	return resp.Header.Get("Deprecation")
}

const validateYAML = `
state: memory
upstreams:
  u1: { targets: [{{V1}}] }
  u2: { targets: [{{V2}}] }
services:
  items:
    match: { path_prefix: /items }
    default: v1
    versions:
      v1: { upstream: u1, openapi: {{DOC_V1}} }
      v2: { upstream: u2, openapi: {{DOC_V2}} }
    rollout: { from: v1, to: v2, weight: 100 }
    contract: { validate_percent: 100 }
`

type contractView struct {
	Validation *live.Validation `json:"validation"`
}

// TestViolationRateMeasured: a `to` upstream whose every fifth answer
// breaks the `from` schema is measured at 20 % of the answers validated,
// counted per operation in the metric, with samples that say where.
func TestViolationRateMeasured(t *testing.T) {
	vars := docs(t)
	vars["V1"], vars["V2"] = itemServer(t, 0).URL, itemServer(t, 5).URL
	tt := testutil.Start(t, validateYAML, vars)
	c := &http.Client{Timeout: 10 * time.Second}
	const n = 500
	for i := range n {
		send(t, c, fmt.Sprintf("%s/items/%d", tt.URL, i))
	}
	var v contractView
	testutil.Eventually(t, 10*time.Second, "every answer validated", func() bool {
		v = contractView{}
		testutil.GetJSON(t, tt.AdminURL+"/api/v1/contracts/items", &v)
		return v.Validation != nil && v.Validation.Validated+v.Validation.Dropped == n
	})
	val := v.Validation
	t.Logf("validated %d, violations %d, rate %.4f, dropped %d", val.Validated, val.Violations, val.ViolationRate, val.Dropped)
	if val.Dropped != 0 || val.Unmatched != 0 || val.TooLarge != 0 {
		t.Errorf("dropped %d, unmatched %d, too large %d; want none", val.Dropped, val.Unmatched, val.TooLarge)
	}
	if val.ViolationRate < 0.17 || val.ViolationRate > 0.23 {
		t.Errorf("violation rate %.4f, want 0.20 ± 0.03", val.ViolationRate)
	}
	if len(val.Operations) != 1 || val.Operations[0].Operation != "GET /items/{id}" || val.Operations[0].Violations != val.Violations {
		t.Errorf("operations %+v, want GET /items/{id} with every violation", val.Operations)
	}
	if len(val.Samples) == 0 {
		t.Fatal("no samples")
	}
	smp := val.Samples[0]
	if smp.Version != "v2" || smp.Status != 200 || !strings.HasPrefix(smp.Request, "GET /items/") || len(smp.Violations) != 1 {
		t.Fatalf("sample %+v", smp)
	}
	vi := smp.Violations[0]
	if vi.Path != "/total" || vi.Value != `"ten"` || vi.Keyword != "type" || !strings.Contains(vi.Schema, "items-v1.yaml:") || vi.Message == "" {
		t.Errorf("violation %+v, want /total \"ten\" type at items-v1.yaml:LINE:COL", vi)
	}
	resp, err := http.Get(tt.AdminURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	want := fmt.Sprintf(`turnout_contract_violations_total{operation="GET /items/{id}",service="items",upstream="u2",version="v2"} %d`, val.Violations)
	if !strings.Contains(string(b), want) {
		t.Errorf("metrics lack %s", want)
	}
}

// gateYAML is validateYAML with steps and the analysis check.
var gateYAML = strings.Replace(validateYAML, "rollout: { from: v1, to: v2, weight: 100 }", `rollout:
      from: v1
      to: v2
      weight: 50
      steps: [50, 100]
      step_interval: 1h
      analysis: { window: 5s, interval: 100ms, min_requests: 10, max_contract_violation_rate: {{MAX}} }`, 1)

// TestViolationRateRollsBack: max_contract_violation_rate below the
// measured 20 % rolls the rollout back; above it, the rollout holds its
// step.
func TestViolationRateRollsBack(t *testing.T) {
	for _, tc := range []struct {
		max        string
		rolledBack bool
	}{{"0.05", true}, {"0.5", false}} {
		t.Run("max "+tc.max, func(t *testing.T) {
			vars := docs(t)
			vars["V1"], vars["V2"], vars["MAX"] = itemServer(t, 0).URL, itemServer(t, 5).URL, tc.max
			tt := testutil.StartWith(t, gateYAML, vars, gateway.AppOptions{Tick: 20 * time.Millisecond})
			c := &http.Client{Timeout: 10 * time.Second}
			var st rollout.Status
			deadline := time.Now().Add(20 * time.Second)
			for time.Now().Before(deadline) {
				for i := range 20 {
					send(t, c, fmt.Sprintf("%s/items/%d", tt.URL, i))
				}
				st = rollout.Status{}
				testutil.GetJSON(t, tt.AdminURL+"/api/v1/rollouts/items", &st)
				if chk, found := testutil.AnalysisCheck(&st, live.GateName); st.State == "rolled_back" || found && chk.OK && st.LastAnalysis.Requests >= 100 {
					break
				}
			}
			chk, found := testutil.AnalysisCheck(&st, live.GateName)
			value, ok := chk.Value, chk.OK
			t.Logf("state %s, weight %v, reason %q, %s %.4f", st.State, st.Weight, st.Reason, live.GateName, value)
			if !found || ok == tc.rolledBack {
				t.Errorf("last analysis: %s found %v, ok %v; want the check, ok %v", live.GateName, found, ok, !tc.rolledBack)
			}
			if !tc.rolledBack && (value < 0.17 || value > 0.23) {
				t.Errorf("%s %.4f over %d requests, want 0.20 ± 0.03", live.GateName, value, st.LastAnalysis.Requests)
			}
			if got := st.State == "rolled_back"; got != tc.rolledBack {
				t.Fatalf("rolled back: %v, want %v (state %s, reason %q)", got, tc.rolledBack, st.State, st.Reason)
			}
			if tc.rolledBack && (st.Weight != 0 || !strings.Contains(st.Reason, live.GateName)) {
				t.Errorf("weight %v, reason %q after rollback; want 0 and %s", st.Weight, st.Reason, live.GateName)
			}
		})
	}
}

const deprecatedYAML = `
state: memory
upstreams:
  u1: { targets: [{{V1}}] }
services:
  items:
    match: { path_prefix: /items }
    default: v1
    versions:
      v1: { upstream: u1, openapi: {{DOC_V1}} }
    contract: { client_key: header:X-Client-ID }
`

// TestDeprecatedUsage: a deprecated operation called by two clients shows
// both with their counts, a deprecated parameter its one user, and the
// answers carry the Deprecation header; a more specific path that is not
// deprecated is neither counted nor marked.
func TestDeprecatedUsage(t *testing.T) {
	vars := docs(t)
	vars["V1"] = itemServer(t, 0).URL
	tt := testutil.Start(t, deprecatedYAML, vars)
	c := &http.Client{Timeout: 10 * time.Second}
	for i := range 3 {
		if h := send(t, c, fmt.Sprintf("%s/items/legacy/%d", tt.URL, i), "X-Client-ID: alice"); h != "@1767225600" {
			t.Errorf("deprecated operation answered with Deprecation %q, want @1767225600", h)
		}
	}
	for i := range 2 {
		send(t, c, fmt.Sprintf("%s/items/legacy/%d", tt.URL, i), "X-Client-ID: bob")
	}
	if h := send(t, c, tt.URL+"/items/4?verbose=true", "X-Client-ID: bob"); h != "true" {
		t.Errorf("deprecated parameter answered with Deprecation %q, want true", h)
	}
	for _, p := range []string{"/items/4", "/items/latest?verbose=true"} {
		if h := send(t, c, tt.URL+p, "X-Client-ID: carol"); h != "" {
			t.Errorf("%s answered with Deprecation %q, want none", p, h)
		}
	}
	send(t, c, tt.URL+"/items/legacy/9") // no client key
	var d live.Deprecations
	if code := testutil.GetJSON(t, tt.AdminURL+"/api/v1/deprecations/items", &d); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	got := map[string]uint64{}
	for _, u := range d.Uses {
		got[u.Operation+" "+u.Parameter+" "+u.Client] = u.Count
		if u.FirstSeen.IsZero() || u.LastSeen.Before(u.FirstSeen) {
			t.Errorf("use %+v: first/last seen", u)
		}
	}
	want := map[string]uint64{
		"GET /items/legacy/{id}  alice":     3,
		"GET /items/legacy/{id}  bob":       2,
		"GET /items/legacy/{id}  (none)":    1,
		"GET /items/{id} query:verbose bob": 1,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("uses %v, want %v", got, want)
	}
	if d.Clients != 3 || d.ClientKey != "header:X-Client-Id" || len(d.Deprecated) != 2 {
		t.Errorf("clients %d, key %q, deprecated %+v", d.Clients, d.ClientKey, d.Deprecated)
	}
	var e struct{ Error string }
	if code := testutil.GetJSON(t, tt.AdminURL+"/api/v1/deprecations/nope", &e); code != http.StatusNotFound {
		t.Errorf("unknown service: status %d", code)
	}
}

// TestWithMirror: a request that is both mirrored and a deprecated call
// goes through both taps: the client gets the Deprecation header and the
// whole body, the mirror compares, the use is counted.
func TestWithMirror(t *testing.T) {
	vars := docs(t)
	vars["V1"], vars["V2"] = itemServer(t, 0).URL, itemServer(t, 0).URL
	text := strings.Replace(deprecatedYAML, "    contract:", "      v2: { upstream: u2, openapi: {{DOC_V2}} }\n    mirror: { to: v2, compare: {} }\n    contract:", 1)
	text = strings.Replace(text, "  u1: { targets: [{{V1}}] }", "  u1: { targets: [{{V1}}] }\n  u2: { targets: [{{V2}}] }", 1)
	tt := testutil.Start(t, text, vars)
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(testutil.NewRequest(t, http.MethodGet, tt.URL+"/items/legacy/1", "X-Client-ID: alice"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if h := resp.Header.Get("Deprecation"); h != "@1767225600" || !strings.Contains(string(body), `"total": 10`) {
		t.Errorf("Deprecation %q, body %s", h, body)
	}
	var diffs struct {
		Compared, Match int
	}
	testutil.Eventually(t, 10*time.Second, "the copy compared", func() bool {
		testutil.GetJSON(t, tt.AdminURL+"/api/v1/diffs/items", &diffs)
		return diffs.Compared == 1
	})
	if diffs.Match != 1 {
		t.Errorf("the mirror compared %+v, want one match", diffs)
	}
	var d live.Deprecations
	testutil.GetJSON(t, tt.AdminURL+"/api/v1/deprecations/items", &d)
	if len(d.Uses) != 1 || d.Uses[0].Client != "alice" || d.Uses[0].Count != 1 {
		t.Errorf("uses %+v, want alice's one call", d.Uses)
	}
}
