package routecases

import (
	"net/http"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/route"
	"github.com/turnout-gw/turnout/internal/testutil"
	"github.com/turnout-gw/turnout/internal/testutil/routecases/trustcases"
	"github.com/turnout-gw/turnout/internal/trust"
)

// TrustYAML, Trust and TrustCases are the trust cases (trustcases, which
// the xDS export's tests import too).
const TrustYAML = trustcases.YAML

// Trust is one trust case.
type Trust = trustcases.Case

// TrustCases are the trust cases of TrustYAML.
var TrustCases = trustcases.Cases

// TrustVars are the variables of TrustYAML with the upstreams v1 and v2.
func TrustVars(v1, v2 string) map[string]string {
	return map[string]string{"V1": v1, "V2": v2, "KEYENV": trustcases.KeyEnv}
}

// TrustSigner returns what signs a case as a trusted edge would: the
// policy of TrustYAML (expanded with vars) keyed by trustcases.Key.
func TrustSigner(t testing.TB, vars map[string]string) func(*http.Request) string {
	t.Helper()
	c, err := config.Parse("trust.yaml", []byte(testutil.Expand(TrustYAML, vars)))
	if err != nil {
		t.Fatal(err)
	}
	table, err := route.Compile(c)
	if err != nil {
		t.Fatal(err)
	}
	p, err := trust.New(table.Config.Trust, table, trust.WithKey([]byte(trustcases.Key)))
	if err != nil {
		t.Fatal(err)
	}
	return func(r *http.Request) string { return p.Sign(r, []byte(trustcases.Key), time.Now()) }
}

// RunTrust runs every Trust case against base (the harness's URL, serving
// TrustYAML expanded with vars, its process's trustcases.KeyEnv set to
// trustcases.Key) for applier, the proxy or the middleware: both enforce
// every trust case, so a case the table marks refused for applier fails
// (a refusal needs validate to refuse its keys for the applier, as
// TestTrustCasesRefusedForQN shows for QN).
func RunTrust(t *testing.T, base, applier string, vars map[string]string) {
	sign := TrustSigner(t, vars)
	c := noRedirects()
	for _, tc := range TrustCases {
		t.Run(tc.Name, func(t *testing.T) {
			if tc.RefusedBy(applier) {
				t.Fatalf("the table marks this case refused for %s, which enforces it and has no refusal to assert", applier)
			}
			req := testutil.NewRequest(t, http.MethodGet, base+tc.Path, tc.Headers...)
			if tc.Signed {
				req.Header.Set(config.DefaultSignatureHeader, sign(req))
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if served := resp.Header.Get("X-Served-Version"); resp.StatusCode != http.StatusOK || served != tc.Served {
				t.Fatalf("got %d served=%q; want 200 served=%q", resp.StatusCode, served, tc.Served)
			}
		})
	}
}
