package admin_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/turnout-gw/turnout/internal/testutil"
	"github.com/turnout-gw/turnout/internal/testutil/etcdtest"
)

// fleetYAML is a Turnout in the fleet on {{ETCD}} named {{NAME}}, its
// rollout held by its step interval; the lease is etcd's minimum so a
// lost etcd shows within seconds.
const fleetYAML = `
state: {{STATE}}
upstreams:
  shop-v1: { targets: [{{V1}}] }
  shop-v2: { targets: [{{V2}}] }
cluster:
  etcd: { endpoints: [{{ETCD}}], prefix: /dashboard }
  member: {{NAME}}
  lease: 2s
services:
  shop:
    match: { path_prefix: /shop }
    default: v1
    versions:
      v1: { upstream: shop-v1 }
      v2: { upstream: shop-v2 }
    rollout: { from: v1, to: v2, weight: 25, steps: [25, 50, 100], step_interval: 1h }
`

// TestDashboardClusterPanel: in real Chromium, the dashboard of one member
// of a real two-member fleet on a real etcd shows the fleet panel listing
// both members with their advertise URLs, spec hashes and last seen, one
// of them marked leader and the page's own member marked as such; once
// etcd is stopped, the panel warns that this member is out of sync and
// serving its last known state, still listing the members last read; when
// etcd is back the banner goes. Set TURNOUT_DASHBOARD_CLUSTER_SCREENSHOT=
// /some/file.png to keep a screenshot of the out-of-sync panel.
func TestDashboardClusterPanel(t *testing.T) {
	chromium := chromiumPath(t)
	etcd := etcdtest.Start(t)
	vars := func(name string) map[string]string {
		return map[string]string{"V1": testutil.VersionServer(t, "v1").URL, "V2": testutil.VersionServer(t, "v2").URL,
			"ETCD": etcd.Endpoint, "NAME": name, "STATE": "memory"}
	}
	a := testutil.Start(t, fleetYAML, vars("gw-a"))
	testutil.Start(t, fleetYAML, vars("gw-b"))

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	bctx, problems := startBrowser(t, ctx, chromium)

	panel := `document.querySelector('#cluster')`
	member := func(name string) string { return panel + `.querySelector('tr[data-member="` + name + `"]')` }
	listed := `(() => { const p = ` + panel + `; if (!p || p.hidden) return false;
		const rows = p.querySelectorAll('tbody tr[data-member]');
		const a = ` + member("gw-a") + `, b = ` + member("gw-b") + `;
		return rows.length === 2 && !!a && !!b &&
			p.querySelectorAll('[data-field="leader"]').length === 1 &&
			!!p.querySelector('tr[data-leader="true"] [data-field="leader"]') &&
			!!a.querySelector('[data-field="self"]') && !b.querySelector('[data-field="self"]') &&
			a.textContent.includes('` + a.AdminURL + `') &&
			/^[0-9a-f]{16}$/.test(a.querySelector('[data-field="spec"] code').textContent) &&
			!p.querySelector('[data-field="spec-diff"]') &&
			/\d+s ago/.test(a.textContent) &&
			` + panel + `.querySelector('[data-field="cluster-banner"]').hidden &&
			/2 members · leader gw-[ab] · this member gw-a/.test(p.textContent); })()`
	run(t, bctx, "load member a's dashboard and see both members, one leader, a as this member",
		chromedp.Navigate(a.AdminURL+"/"),
		poll(listed, 30*time.Second))

	etcd.Stop()
	outOfSync := `(() => { const p = ` + panel + `; const b = p.querySelector('[data-field="cluster-banner"]');
		return !p.hidden && !b.hidden && b.textContent.includes('Out of sync with etcd') &&
			b.textContent.includes('serving its last known state; no step advances') &&
			p.querySelectorAll('tbody tr[data-member]').length === 2; })()`
	run(t, bctx, "see the out-of-sync banner once etcd is stopped",
		poll(outOfSync, 30*time.Second))
	if p := os.Getenv("TURNOUT_DASHBOARD_CLUSTER_SCREENSHOT"); p != "" {
		screenshot(t, bctx, p)
	}

	// etcd back: the member resyncs and the banner goes. (It also lets
	// the members stop: a member halted while etcd is down waits for its
	// etcd watch, see the report of issue 17.)
	etcd.Start()
	inSync := `(() => { const p = ` + panel + `;
		return !p.hidden && !p.classList.contains('stale') && p.querySelector('[data-field="cluster-banner"]').hidden &&
			p.querySelectorAll('tbody tr[data-member]').length === 2; })()`
	run(t, bctx, "see the banner go once etcd is back",
		poll(inSync, 30*time.Second))

	for _, p := range problems() {
		t.Errorf("browser: %s", p)
	}
}

// TestDashboardNoClusterPanel: the dashboard of a Turnout without a
// cluster: block keeps the fleet panel hidden (the API answers 404) while
// the page is live and shows its services.
func TestDashboardNoClusterPanel(t *testing.T) {
	chromium := chromiumPath(t)
	t.Setenv("TURNOUT_DASHBOARD_TEST_TOKEN", "")
	tt := testutil.Start(t, browserYAML, map[string]string{"V1": testutil.VersionServer(t, "v1").URL, "V2": testutil.VersionServer(t, "v2").URL})

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	bctx, problems := startBrowser(t, ctx, chromium)
	// Two polls after the first: the panel had every chance to appear.
	hidden := `(() => { const p = document.querySelector('#cluster');
		window.__polls = (window.__polls || 0) + (document.querySelector('#live').classList.contains('live-ok') &&
			document.querySelector('#live-text').textContent !== window.__last ? 1 : 0);
		window.__last = document.querySelector('#live-text').textContent;
		return !!document.querySelector('[data-service="shop"]') && window.__polls >= 3 && p.hidden &&
			p.querySelectorAll('tr[data-member]').length === 0; })()`
	run(t, bctx, "load the dashboard and see it live with no fleet panel",
		chromedp.Navigate(tt.AdminURL+"/"),
		poll(hidden, 30*time.Second))
	for _, p := range problems() {
		t.Errorf("browser: %s", p)
	}
}
