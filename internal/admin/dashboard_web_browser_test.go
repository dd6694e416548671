package admin_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/turnout-gw/turnout/internal/testutil"
)

// attackPage is a page of another origin that tries what any web page can
// do against an admin port without a token: a text/plain form POST, a
// no-cors text/plain fetch, and a JSON PUT (which needs a CORS preflight
// the admin API never grants). It sets its title when all have settled.
const attackPage = `<!doctype html><title>attack</title>
<iframe name="sink" style="display:none"></iframe>
<form id="f" method="POST" enctype="text/plain" target="sink" action="{{ADMIN}}/api/v1/rollouts/shop/promote">
<input name='{"a":"' value='"}'></form>
<script>
(async () => {
  const loaded = new Promise((ok) => document.querySelector('iframe').addEventListener('load', ok, { once: true }));
  document.getElementById('f').submit();
  await loaded;
  await fetch('{{ADMIN}}/api/v1/rollouts/shop/promote', { method: 'POST', mode: 'no-cors',
    headers: { 'Content-Type': 'text/plain' }, body: '{}' }).catch(() => {});
  await fetch('{{ADMIN}}/api/v1/rollouts/shop/weight', { method: 'PUT',
    headers: { 'Content-Type': 'application/json' }, body: '{"weight": 100}' }).catch(() => {});
  document.title = 'done';
})();
</script>`

// TestCrossSitePageCannotAct: in real Chromium, a page of another origin
// aimed at an admin port without any token cannot promote or change the
// weight (the form and the no-cors fetch reach the port and are refused,
// the JSON PUT is stopped by the browser's preflight); the dashboard
// itself, on the port's own origin, still pauses without a token.
func TestCrossSitePageCannotAct(t *testing.T) {
	chromium := chromiumPath(t)
	t.Setenv("TURNOUT_DASHBOARD_TEST_TOKEN", "")
	tt := testutil.Start(t, browserYAML, map[string]string{"V1": testutil.VersionServer(t, "v1").URL, "V2": testutil.VersionServer(t, "v2").URL})
	var served atomic.Int32
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(strings.ReplaceAll(attackPage, "{{ADMIN}}", tt.AdminURL)))
	}))
	defer attacker.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	bctx, _ := startBrowser(t, ctx, chromium)
	run(t, bctx, "open the other site's page and let its requests settle",
		chromedp.Navigate(attacker.URL+"/"),
		poll(`document.title === 'done'`, 20*time.Second))
	if served.Load() == 0 {
		t.Fatal("the attack page was never served")
	}
	if st := rolloutState(t, tt.AdminURL, "shop"); st != "progressing" {
		t.Fatalf("after the other site's page the rollout is %q, want progressing", st)
	}

	card := `document.querySelector('[data-service="shop"]')`
	run(t, bctx, "pause from the dashboard, without a token",
		chromedp.Navigate(tt.AdminURL+"/"),
		poll(`(() => { const c = `+card+`; return !!c && c.querySelector('[data-field="state"]').textContent === 'progressing'; })()`, 30*time.Second),
		chromedp.Click(chromedp.CSS(`[data-service="shop"] button[data-action="pause"]`)),
		poll(`(() => `+card+`.querySelector('[data-field="state"]').textContent === 'paused')()`, 10*time.Second))
	if st := rolloutState(t, tt.AdminURL, "shop"); st != "paused" {
		t.Fatalf("after the dashboard's Pause the API says %q", st)
	}
}
