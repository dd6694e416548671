package admin_test

import (
	"context"
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

const clientsBrowserYAML = `
state: memory
upstreams:
  users-v1: { targets: [{{V1}}] }
  users-v2: { targets: [{{V2}}] }
services:
  users:
    match: { path_prefix: /users }
    negotiate: { sources: [header], header: X-API-Version }
    default: v2
    clients: { key: header:X-Client-ID }
    versions:
      v1: { upstream: users-v1, lifecycle: deprecated, successor: v2 }
      v2: { upstream: users-v2 }
`

// TestDashboardClientsPanel: a service's card lists, for its deprecated
// version first, the clients still calling it with their requests, their
// share of the version's traffic, their share per hour and when each was
// last seen. No console errors or uncaught exceptions are allowed.
func TestDashboardClientsPanel(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium is not on PATH (apt-get install chromium): %v", err)
	}
	v1, v2 := testutil.VersionServer(t, "v1"), testutil.VersionServer(t, "v2")
	tt := testutil.Start(t, clientsBrowserYAML, map[string]string{"V1": v1.URL, "V2": v2.URL})
	c := &http.Client{Timeout: 5 * time.Second}
	for _, call := range []struct {
		client, version string
		n               int
	}{{"billing", "v1", 3}, {"crm", "v1", 1}, {"web", "v2", 2}} {
		for range call.n {
			testutil.Get(t, c, tt.URL+"/users/1", "X-Client-ID: "+call.client, "X-API-Version: "+call.version)
		}
	}

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

	listed := `(() => { const p = document.querySelector('[data-service="users"] [data-field="clients-panel"]');
		if (!p || p.hidden) return false;
		const blocks = [...p.querySelectorAll('[data-version]')].map((b) => b.dataset.version);
		const row = (v, c) => p.querySelector('[data-version="' + v + '"] tr[data-client="' + c + '"]');
		const cell = (v, c, m) => row(v, c) && row(v, c).querySelector('[data-metric="' + m + '"]').textContent;
		return blocks.join() === 'v1,v2' &&
			cell('v1', 'billing', 'requests') === '3' && cell('v1', 'billing', 'share') === '75%' &&
			cell('v1', 'crm', 'requests') === '1' && cell('v1', 'crm', 'share') === '25%' &&
			/s ago$/.test(cell('v1', 'crm', 'last-seen')) &&
			cell('v2', 'web', 'share') === '100%' &&
			row('v1', 'billing').querySelectorAll('[data-field="share-bars"] rect').length === 24 &&
			p.querySelector('[data-field="clients-totals"]').textContent.includes('v1: 2 clients'); })()`
	run(t, bctx, "see the clients panel list who still calls v1", chromedp.Navigate(tt.AdminURL+"/"), poll(listed, 30*time.Second))
	shot := filepath.Join(t.TempDir(), "clients.png")
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
