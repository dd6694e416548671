package admin_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/turnout-gw/turnout/internal/testutil"
)

const mirrorBrowserYAML = `
state: memory
upstreams:
  shop-v1: { targets: [{{V1}}] }
  shop-v2: { targets: [{{V2}}] }
services:
  shop:
    match: { path_prefix: /shop }
    default: v1
    versions: { v1: { upstream: shop-v1 }, v2: { upstream: shop-v2 } }
    mirror: { to: v2, compare: { ignore: [/turnout_version] } }
  plain:
    match: { path_prefix: /plain }
    default: v1
    versions: { v1: { upstream: shop-v1 } }
`

// TestDashboardMirrorPanel: the card of a mirrored service lists its
// endpoints with diff rates and differing paths, and a recent sample opens
// to the differing values and both answers; a service without mirror shows
// no panel. No console errors or uncaught exceptions are allowed.
func TestDashboardMirrorPanel(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium is not on PATH (apt-get install chromium): %v", err)
	}
	v1, v2 := testutil.VersionServer(t, "v1"), testutil.VersionServer(t, "v2")
	tt := testutil.Start(t, mirrorBrowserYAML, map[string]string{"V1": v1.URL, "V2": v2.URL})
	c := &http.Client{Timeout: 5 * time.Second}
	for i := range 20 {
		testutil.Get(t, c, fmt.Sprintf("%s/shop/items/%d", tt.URL, i))
	}
	testutil.Get(t, c, tt.URL+"/shop/cart")
	testutil.Get(t, c, tt.URL+"/plain/x")

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1366, 900))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	var mu sync.Mutex
	var problems []string
	if err := chromedp.Listen(bctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			problems = append(problems, "uncaught exception: "+e.ExceptionDetails.Text)
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError {
				problems = append(problems, "console.error")
			}
		}
	}); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}

	panel := `document.querySelector('[data-service="shop"] [data-field="mirror-panel"]')`
	listed := `(() => { const p = ` + panel + `; if (!p || p.hidden) return false;
		const row = p.querySelector('tr[data-endpoint="GET /shop/items"]');
		return !!row && row.querySelector('[data-metric="diff_rate"]').textContent === '100%' &&
			!!row.querySelector('[data-path="/version"]') && !row.querySelector('[data-path="/turnout_version"]') &&
			p.querySelectorAll('tr[data-endpoint]').length === 2 &&
			p.querySelectorAll('[data-field="mirror-samples"] details').length === 21 &&
			document.querySelector('[data-service="plain"] [data-field="mirror-panel"]').hidden; })()`
	open := `(() => { const d = ` + panel + `.querySelector('details[data-sample="0"]'); d.open = true;
		const s = d.querySelector('.sample');
		return d.open && s.querySelector('.sample-diffs').textContent.includes('/version') &&
			s.querySelector('[data-answer="primary"] pre').textContent.includes('"version":"v1"') &&
			s.querySelector('[data-answer="mirror"] pre').textContent.includes('"version":"v2"'); })()`
	run(t, bctx, "see the mirror panel list the endpoints, paths and samples",
		chromedp.Navigate(tt.AdminURL+"/"),
		poll(listed, 30*time.Second))
	run(t, bctx, "open a sample", poll(open, 5*time.Second))
	shot := filepath.Join(t.TempDir(), "mirror.png")
	if p := os.Getenv("TURNOUT_DASHBOARD_SCREENSHOT"); p != "" {
		shot = p
	}
	screenshot(t, bctx, shot)
	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Errorf("browser: %s", p)
	}
}
