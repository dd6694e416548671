package admin_test

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/turnout-gw/turnout/internal/gateway"
	"github.com/turnout-gw/turnout/internal/testutil"
	"github.com/turnout-gw/turnout/internal/testutil/testclock"
)

const scheduleBrowserYAML = `
admin: { listen: 127.0.0.1:0 }
state: memory
upstreams:
  shop-v1: { targets: [{{V1}}] }
  shop-v2: { targets: [{{V2}}] }
services:
  shop:
    match: { path_prefix: /shop }
    clients: { key: header:X-Client }
    default: v2
    versions:
      v1:
        upstream: shop-v1
        successor: v2
        schedule: [ { at: 2027-01-15, lifecycle: deprecated }, { at: 2027-04-01, lifecycle: gone } ]
        hold_while: { requests: 1, window: 10m }
      v2: { upstream: shop-v2 }
`

// TestDashboardShowsSchedule: in real Chromium, a scheduled version's row
// shows its effective lifecycle, the next step with its date (UTC) and,
// while the guard holds it, the reason naming the clients still calling.
func TestDashboardShowsSchedule(t *testing.T) {
	chromium := chromiumPath(t)
	clk := testclock.New(time.Date(2027, 3, 31, 23, 58, 0, 0, time.UTC))
	tt := testutil.StartWith(t, scheduleBrowserYAML, map[string]string{"V1": testutil.VersionServer(t, "v1").URL,
		"V2": testutil.VersionServer(t, "v2").URL}, gateway.AppOptions{Now: clk.Now, Tick: 10 * time.Millisecond})
	// Two minutes before gone is due, two clients call v1 twelve times.
	for i := range 12 {
		client := "billing"
		if i%2 == 1 && i > 2 {
			client = "mobile-ios" // 5 of them
		}
		req, _ := http.NewRequest(http.MethodGet, tt.URL+"/shop/items", nil)
		req.Header.Set("X-API-Version", "v1")
		req.Header.Set("X-Client", client)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("v1 for %s: %d", client, resp.StatusCode)
		}
	}
	clk.Advance(2 * time.Minute) // gone is due, and held

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	bctx, problems := startBrowser(t, ctx, chromium)
	row := `document.querySelector('[data-service="shop"] tr[data-version="v1"]')`
	shown := `(() => { const r = ` + row + `; if (!r) return false;
		const hold = r.querySelector('[data-field="hold"]');
		return r.querySelector('.badge').textContent === 'deprecated' &&
			r.querySelector('[data-field="next-step"]').textContent === '→ gone 2027-04-01 00:00 UTC' &&
			!hold.hidden && hold.textContent === 'held: v1 still called: 12 requests in the last 10m by billing, mobile-ios'; })()`
	noStep := `(() => { const r = document.querySelector('[data-service="shop"] tr[data-version="v2"]');
		return !!r && r.querySelector('[data-field="next-step"]').textContent === '' && r.querySelector('[data-field="hold"]').hidden; })()`
	run(t, bctx, "see v1's next step and why it is held, and nothing on v2",
		chromedp.Navigate(tt.AdminURL+"/"),
		poll(shown, 30*time.Second),
		poll(noStep, 5*time.Second))
	for _, p := range problems() {
		t.Errorf("browser: %s", p)
	}
}
