package routecases

import (
	"io"
	"net/http"
	"testing"

	"github.com/turnout-gw/turnout/internal/fault"
	"github.com/turnout-gw/turnout/internal/testutil"
)

// FaultYAML is the configuration of the fault cases: v1 aborts every
// request 502, v2 injects nothing, and rules send to either with a fault
// of their own that replaces the version's. Every applier that honours
// `fault:` (the proxy, the middleware) must pass Faults; shares are drawn
// from the applier's random source, so every fault here is at 100 %.
const FaultYAML = `
upstreams:
  users-v1: { targets: [{{V1}}] }
  users-v2: { targets: [{{V2}}] }
services:
  users:
    match: { path_prefix: /users }
    default: v1
    versions:
      v1: { upstream: users-v1, fault: { abort: { percent: 100, status: 502 } } }
      v2: { upstream: users-v2 }
    rules:
      - name: faulty-v2
        match: { header: { X-Env: faulty-v2 } }
        version: v2
        fault: { abort: { percent: 100, status: 503 } }
      - name: faulty-v1
        match: { header: { X-Env: faulty-v1 } }
        version: v1
        fault: { abort: { percent: 100, status: 429 } }
`

// Fault is one fault case: a GET of /users/1 with Headers must answer
// Status from Served; Aborted says the answer is an injected abort (the
// X-Turnout-Fault header and fault.AbortBody), not the version's own.
type Fault struct {
	Name    string
	Headers []string
	Status  int
	Served  string
	Aborted bool
}

// Faults are the fault cases of FaultYAML.
var Faults = []Fault{
	{"version fault", nil, 502, "v1", true},
	{"no fault", []string{"X-API-Version: 2"}, 200, "v2", false},
	{"rule fault", []string{"X-Env: faulty-v2"}, 503, "v2", true},
	{"rule fault replaces version's", []string{"X-Env: faulty-v1"}, 429, "v1", true},
}

// RunFaults runs every Fault against base (the harness's URL, serving
// FaultYAML).
func RunFaults(t *testing.T, base string) {
	c := noRedirects()
	for _, tc := range Faults {
		t.Run(tc.Name, func(t *testing.T) {
			resp, err := c.Do(testutil.NewRequest(t, http.MethodGet, base+"/users/1", tc.Headers...))
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			status, served, body := resp.StatusCode, resp.Header.Get("X-Served-Version"), string(b)
			aborted := resp.Header.Get(fault.Header) == fault.KindAbort
			if status != tc.Status || served != tc.Served || aborted != tc.Aborted {
				t.Fatalf("got %d served=%q aborted=%v; want %d served=%q aborted=%v", status, served, aborted, tc.Status, tc.Served, tc.Aborted)
			}
			if tc.Aborted && body != fault.AbortBody(tc.Status) {
				t.Fatalf("abort body %q, want %q", body, fault.AbortBody(tc.Status))
			}
		})
	}
}
