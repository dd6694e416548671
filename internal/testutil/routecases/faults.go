package routecases

import (
	"io"
	"net/http"
	"testing"

	"github.com/turnout-gw/turnout/internal/fault"
	"github.com/turnout-gw/turnout/internal/testutil"
	"github.com/turnout-gw/turnout/internal/testutil/routecases/faultcases"
)

// FaultYAML, Fault and Faults are the fault cases (faultcases, which
// the xDS export's tests import too: this package links the gateway).
const FaultYAML = faultcases.YAML

// Fault is one fault case.
type Fault = faultcases.Case

// Faults are the fault cases of FaultYAML.
var Faults = faultcases.Cases

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
