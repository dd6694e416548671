package gateway_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/gateway"
	"github.com/turnout-gw/turnout/internal/testutil"
)

// serviceLimitsYAML has a global cap of 4 and a slow service capped at
// {{CAP}} of them beside a fast one without a cap of its own.
const serviceLimitsYAML = `
limits: { max_in_flight: 4 }
upstreams:
  slow: { targets: [{{SLOW}}] }
  fast: { targets: [{{FAST}}] }
services:
  slow:
    match: { path_prefix: /slow }
    limits: { max_in_flight: {{CAP}} }
    default: v1
    versions: { v1: { upstream: slow } }
  fast:
    match: { path_prefix: /fast }
    default: v1
    versions: { v1: { upstream: fast } }
`

// TestServiceMaxInFlight: a slow service at its own max_in_flight refuses
// more of its requests with 503 and Retry-After, counted as
// service_in_flight, and so leaves the global cap's other slots to the
// other service, which keeps answering 200 (with one global pool, the
// third and fourth slow requests would take the last slots and the fast
// service would answer 503). A reload changes the cap and keeps counting the requests still
// held.
func TestServiceMaxInFlight(t *testing.T) {
	slow, fast := newBlocking(t), newSeen(t, "v1")
	vars := map[string]string{"SLOW": slow.srv.URL, "FAST": fast.srv.URL, "CAP": "2"}
	tt := testutil.StartWith(t, serviceLimitsYAML, vars, gateway.AppOptions{})
	held := hold(t, tt.URL+"/slow/a", slow, 2)
	client := &http.Client{Timeout: 10 * time.Second} // a request the cap failed to refuse is held
	for i := 0; i < 3; i++ {
		resp, err := client.Get(tt.URL + "/slow/b")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "1" {
			t.Errorf("slow request over its cap: %d Retry-After %q, want 503 and 1", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		if s, _, _ := testutil.Get(t, http.DefaultClient, tt.URL+"/fast/x"); s != 200 {
			t.Errorf("fast service while the slow one is at its cap: %d, want 200", s)
		}
	}
	if got := testutil.Metric(t, tt, `turnout_limit_rejections_total{limit="service_in_flight"}`); got != "3" {
		t.Errorf("service_in_flight rejections %q, want 3", got)
	}
	if got := testutil.Metric(t, tt, `turnout_limit_rejections_total{limit="in_flight"}`); got != "0" {
		t.Errorf("in_flight rejections %q, want 0", got)
	}

	// Cap 3 with 2 still held: one more is admitted, the next refused.
	vars["CAP"] = "3"
	tt.Rewrite(t, serviceLimitsYAML, vars)
	if err := tt.App.Configs.Reload("test"); err != nil {
		t.Fatal(err)
	}
	more := hold(t, tt.URL+"/slow/c", slow, 1)
	s, _, body := testutil.Get(t, client, tt.URL+"/slow/d")
	if s != 503 || !strings.Contains(body, "services.slow.limits.max_in_flight") {
		t.Errorf("fourth slow request after the reload to 3: %d %s, want 503 naming the cap", s, body)
	}
	slow.unblock()
	for i := 0; i < 2; i++ {
		if s := <-held; s != 200 {
			t.Errorf("held request: %d", s)
		}
	}
	if s := <-more; s != 200 {
		t.Errorf("request admitted after the reload: %d", s)
	}
	if s, _, _ := testutil.Get(t, http.DefaultClient, tt.URL+"/slow/e"); s != 200 {
		t.Errorf("after the held requests finished: %d", s)
	}
	if n := tt.App.Configs.Snapshot().Flights.InFlight("slow"); n != 0 {
		t.Errorf("%d slow requests counted in flight after all finished, want 0", n)
	}
}

// TestReloadRefusesStrictDecoding: a reload of a file with a quoted cap, a
// negative-zero cap or a merge key is refused with each problem at its
// FILE:LINE:COL, and the last good configuration keeps its cap. (Rewrite
// writes the text as it is: the cap is on line 9.)
func TestReloadRefusesStrictDecoding(t *testing.T) {
	slow, fast := newSeen(t, "v1"), newSeen(t, "v1")
	vars := map[string]string{"SLOW": slow.srv.URL, "FAST": fast.srv.URL, "CAP": "2"}
	tt := testutil.StartWith(t, serviceLimitsYAML, vars, gateway.AppOptions{})
	for cap, want := range map[string]string{
		`"5"`:                  `:9:30: services.slow.limits.max_in_flight: expected a number, got the string "5"`,
		"-0":                   `:9:30: services.slow.limits.max_in_flight: "-0" is negative zero`,
		"5 }\n    <<: { x: 1 ": `:10:5: services.slow: merge keys ("<<") are not supported`,
	} {
		vars["CAP"] = cap
		tt.Rewrite(t, serviceLimitsYAML, vars)
		err := tt.App.Configs.Reload("test")
		if err == nil || !strings.Contains(err.Error(), tt.Path+want) {
			t.Errorf("reload with max_in_flight: %s: %v, want an error at %s%s", cap, err, tt.Path, want)
		}
		if f := tt.App.Configs.Snapshot().Flights["slow"]; f.Max != 2 {
			t.Errorf("after the refused reload the cap is %d, want 2", f.Max)
		}
	}
}
