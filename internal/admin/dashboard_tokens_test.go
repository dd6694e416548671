package admin_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/turnout-gw/turnout/internal/testutil"
)

const tokensBrowserYAML = `
admin: { listen: 127.0.0.1:0, tokens_file: {{TOKENS}} }
state: memory
upstreams:
  shop-v1: { targets: [{{V1}}] }
services:
  shop:
    match: { path_prefix: /shop }
    default: v1
    versions: { v1: { upstream: shop-v1 }, v2: { upstream: shop-v1 } }
    rollout: { from: v1, to: v2, weight: 25 }
`

// TestDashboardTokensFile drives the dashboard of a Turnout with named
// tokens in headless Chromium: its reads need a token, so the page asks for
// one and shows the rollout with a viewer token; Pause with that token is
// refused (403) and the page says so; an operator's action shows in the
// events list with the token's name; the token never appears in the URL or
// in localStorage (only in this tab's sessionStorage).
func TestDashboardTokensFile(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium is not on PATH (apt-get install chromium; scripts/test.sh does so as root): %v", err)
	}
	tokens := filepath.Join(t.TempDir(), "tokens.yaml")
	if err := os.WriteFile(tokens, []byte("tokens:\n  - { name: viewer-1, role: viewer, token: view-s3cret }\n"+
		"  - { name: alice, role: operator, token: alice-s3cret }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tt := testutil.Start(t, tokensBrowserYAML, map[string]string{"TOKENS": tokens, "V1": testutil.VersionServer(t, "v1").URL})

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()

	card := `document.querySelector('[data-service="shop"]')`
	run(t, bctx, "load the dashboard and answer the token dialog the reads open with a viewer token",
		chromedp.Navigate(tt.AdminURL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#token-input`)),
		chromedp.SendKeys(chromedp.CSS(`#token-input`), "view-s3cret"),
		chromedp.Click(chromedp.CSS(`#modal-ok`)),
		poll(`(() => { const c = `+card+`; return !!c && c.querySelector('[data-field="state"]').textContent === 'progressing'; })()`, 20*time.Second))

	run(t, bctx, "pause with the viewer token: refused, and the page says why",
		chromedp.Click(chromedp.CSS(`[data-service="shop"] button[data-action="pause"]`)),
		poll(`(() => `+card+`.querySelector('[data-field="result"]').textContent.includes('operator'))()`, 10*time.Second))
	if st := rolloutStateWith(t, tt.AdminURL, "shop", "view-s3cret"); st != "progressing" {
		t.Fatalf("a viewer's pause changed the state to %q", st)
	}

	req, err := http.NewRequest(http.MethodPost, tt.AdminURL+"/api/v1/rollouts/shop/pause", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer alice-s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("operator pause = %d", resp.StatusCode)
	}
	run(t, bctx, "see the operator's pause in the events list, by name",
		poll(`(() => { const e = document.querySelector('#events [data-type="pause"]');
			return !!e && e.textContent.includes('api:alice'); })()`, 15*time.Second))

	run(t, bctx, "the token is in no URL and not in localStorage",
		poll(`(() => !location.href.includes('s3cret') && !document.referrer.includes('s3cret') &&
			localStorage.length === 0 && sessionStorage.getItem('turnout.adminToken') === 'view-s3cret' &&
			performance.getEntriesByType('resource').every((r) => !r.name.includes('s3cret')))()`, 5*time.Second))
}

// rolloutStateWith reads a rollout's state, with a bearer token unless
// token is "".
func rolloutStateWith(t *testing.T, adminURL, service, token string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, adminURL+"/api/v1/rollouts/"+service, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct{ State string }
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st.State
}
