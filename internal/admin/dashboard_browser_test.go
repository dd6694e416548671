package admin_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/turnout-gw/turnout/internal/testutil"
)

const browserYAML = `
admin: { listen: 127.0.0.1:0, token_env: TURNOUT_DASHBOARD_TEST_TOKEN }
state: memory
upstreams:
  shop-v1: { targets: [{{V1}}] }
  shop-v2: { targets: [{{V2}}] }
services:
  shop:
    match: { path_prefix: /shop }
    default: v1
    versions:
      v1: { upstream: shop-v1, lifecycle: deprecated, sunset: 2027-06-30T00:00:00Z, successor: v2 }
      v2: { upstream: shop-v2 }
    rollout:
      from: v1
      to: v2
      weight: 25
      steps: [25, 50, 100]
      step_interval: 1h
      analysis: { window: 10s, min_requests: 20, max_error_rate: 0.5 }
`

// browserToken is the admin token the test's Turnout requires.
const browserToken = "dash-s3cret"

// TestDashboardInBrowser drives the real dashboard of a real Turnout in
// headless Chromium: it shows the service, the rollout, non-zero request
// rates, and line charts of request rate, error rate and p95 per version for
// both chart spans; Pause asks for the token in the page, retries with it and
// the rollout is paused; Resume reuses the stored token. No console errors or
// uncaught exceptions are allowed.
//
// Set TURNOUT_DASHBOARD_SCREENSHOT=/some/file.png to keep a screenshot.
func TestDashboardInBrowser(t *testing.T) {
	chromium := chromiumPath(t)
	t.Setenv("TURNOUT_DASHBOARD_TEST_TOKEN", browserToken)
	v1, v2 := testutil.VersionServer(t, "v1"), testutil.VersionServer(t, "v2")
	tt := testutil.Start(t, browserYAML, map[string]string{"V1": v1.URL, "V2": v2.URL})

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	traffic := make(chan struct{})
	go func() {
		defer close(traffic)
		sendTraffic(ctx, tt.URL+"/shop/items", 3000)
	}()
	defer func() {
		cancel()
		<-traffic
	}()

	bctx, problems := startBrowser(t, ctx, chromium)

	card := `document.querySelector('[data-service="shop"]')`
	ready := `(() => { const c = ` + card + `; if (!c) return false;
		const st = c.querySelector('[data-field="state"]');
		const rate = c.querySelector('[data-metric="rate"][data-version="v1"]');
		return c.querySelector('h2').textContent === 'shop' && st.textContent === 'progressing' &&
			c.querySelector('[data-field="weight"]').textContent === '25%' &&
			parseFloat(rate.textContent) > 0 && !!c.querySelector('.chart path.band'); })()`
	run(t, bctx, "load the dashboard and wait for the rollout and its numbers",
		chromedp.Navigate(tt.AdminURL+"/"),
		poll(ready, 30*time.Second))
	screenshot(t, bctx, filepath.Join(t.TempDir(), "loaded.png"))

	// Three line charts (request rate, error rate, p95) with a drawn line
	// per version, following the span toggle, with a hover read-out.
	lines := `(() => { const c = ` + card + `; const charts = c.querySelectorAll('[data-chart]');
		return charts.length === 3 && ['rate', 'error_rate', 'p95'].every((k) => {
			const ch = c.querySelector('[data-chart="' + k + '"]');
			return !!ch && ch.querySelectorAll('svg text.axis').length >= 7 && ['v1', 'v2'].every((v) => {
				const p = ch.querySelector('svg path.line[data-version="' + v + '"]');
				return !!p && /^M[0-9.]+,[0-9.]+[LH]/.test(p.getAttribute('d') || ''); }); }); })()`
	span := func(s string) string {
		return `(() => { document.querySelector('.seg[data-span="` + s + `"]').click(); return true; })()`
	}
	spanShown := func(s string) string {
		return `(() => ` + lines + ` && ` + card + `.querySelector('.metrics-caption').textContent.includes('last ` + s + `,'))()`
	}
	hover := `(() => { const svg = ` + card + `.querySelector('[data-chart="rate"] svg'); const r = svg.getBoundingClientRect();
		svg.dispatchEvent(new PointerEvent('pointermove', { clientX: r.right - 12, clientY: r.top + r.height / 2, bubbles: true }));
		const tip = ` + card + `.querySelector('[data-chart="rate"] .tip');
		const shown = !tip.hidden && tip.textContent.includes('v1') && tip.textContent.includes('req/s');
		svg.dispatchEvent(new PointerEvent('pointerleave'));
		return shown && tip.hidden; })()`
	run(t, bctx, "see the rate, error rate and p95 charts draw a line per version, for both spans",
		poll(spanShown("15m"), 10*time.Second),
		poll(span("2m"), time.Second),
		poll(spanShown("2m"), 10*time.Second),
		poll(hover, 5*time.Second),
		poll(span("15m"), time.Second),
		poll(spanShown("15m"), 10*time.Second))

	pause := `[data-service="shop"] button[data-action="pause"]`
	run(t, bctx, "pause, answering the token dialog",
		chromedp.Click(chromedp.CSS(pause)),
		chromedp.WaitVisible(chromedp.CSS(`#token-input`)),
		chromedp.SendKeys(chromedp.CSS(`#token-input`), browserToken),
		chromedp.Click(chromedp.CSS(`#modal-ok`)),
		chromedp.WaitNotVisible(chromedp.CSS(`#modal`)))
	testutil.Eventually(t, 10*time.Second, "the API to report the rollout paused", func() bool {
		return rolloutState(t, tt.AdminURL, "shop") == "paused"
	})
	paused := `(() => { const c = ` + card + `;
		return c.querySelector('[data-field="state"]').textContent === 'paused' &&
			c.querySelector('[data-field="result"]').textContent.includes('Pause done') &&
			!!document.querySelector('#events [data-type="pause"]') &&
			sessionStorage.getItem('turnout.adminToken') === '` + browserToken + `'; })()`
	run(t, bctx, "see the page show paused, the answer and the event",
		poll(paused, 10*time.Second))
	screenshot(t, bctx, filepath.Join(t.TempDir(), "paused.png"))
	if p := os.Getenv("TURNOUT_DASHBOARD_SCREENSHOT"); p != "" {
		screenshot(t, bctx, p)
	}

	// The stored token is reused: Resume needs no dialog.
	resumed := `(() => { const c = ` + card + `; return !document.querySelector('#modal').open &&
		c.querySelector('[data-field="state"]').textContent === 'progressing' &&
		c.querySelector('[data-field="result"]').textContent.includes('Resume done'); })()`
	run(t, bctx, "resume with the stored token",
		chromedp.Click(chromedp.CSS(`[data-service="shop"] button[data-action="resume"]`)),
		poll(resumed, 10*time.Second))
	if st := rolloutState(t, tt.AdminURL, "shop"); st != "progressing" {
		t.Errorf("after Resume the API says %q", st)
	}

	for _, p := range problems() {
		t.Errorf("browser: %s", p)
	}
}

// chromiumPath finds Chromium, which the browser tests need.
func chromiumPath(t *testing.T) string {
	t.Helper()
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium is not on PATH, and the dashboard's browser test needs it: "+
			"install it with `apt-get install chromium` (scripts/test.sh does so when run as root): %v", err)
	}
	return chromium
}

// startBrowser starts headless Chromium for the life of ctx and returns
// its context and what reports the uncaught exceptions, console errors
// and browser-made errors seen so far.
func startBrowser(t *testing.T, ctx context.Context, chromium string) (context.Context, func() []string) {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1366, 900))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelBrowser)

	var mu sync.Mutex
	var problems []string
	// Listen also starts the browser; its life is bounded by ctx.
	err := chromedp.Listen(bctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			d := e.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			problems = append(problems, fmt.Sprintf("uncaught exception at %s:%d: %s", d.URL, d.LineNumber+1, msg))
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeAssert {
				var args []string
				for _, a := range e.Args {
					args = append(args, strings.TrimSpace(string(a.Value)+" "+a.Description))
				}
				problems = append(problems, "console."+string(e.Type)+": "+strings.Join(args, " "))
			}
		case *cdplog.EventEntryAdded:
			// Browser-made errors (CSP violations, failed module loads). The
			// network's own 401/404 answers are expected here.
			if en := e.Entry; en.Level == cdplog.EntryLevelError && en.Source != cdplog.EntrySourceNetwork {
				problems = append(problems, fmt.Sprintf("browser %s error: %s (%s)", en.Source, en.Text, en.URL))
			}
		}
	})
	if err != nil {
		t.Fatalf("starting chromium (%s): %v", chromium, err)
	}
	return bctx, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(problems)
	}
}

// run executes actions in the browser, failing the test with what it was
// doing and the page's visible text when they fail or time out.
func run(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		text, _ := chromedp.Run(tctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ''`))
		t.Fatalf("%s: %v\npage text:\n%s", what, err, text)
	}
}

// poll waits until the JavaScript expression is truthy in the page.
func poll(expr string, timeout time.Duration) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(timeout))(ctx, tg)
		return err
	})
}

// screenshot saves the whole page as PNG.
func screenshot(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// rolloutState reads GET /api/v1/rollouts/{service} and returns its state.
func rolloutState(t *testing.T, adminURL, service string) string {
	return rolloutStateWith(t, adminURL, service, "")
}

// sendTraffic sends at most n requests, one every 5 ms, until ctx ends.
func sendTraffic(ctx context.Context, url string, n int) {
	c := &http.Client{Timeout: 5 * time.Second}
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for range n {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return
		}
		if resp, err := c.Do(req); err == nil {
			resp.Body.Close()
		}
	}
}
