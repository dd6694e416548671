package trust

import (
	"net/http"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/route"
)

// TestDecisionOutcome: the decision carries what the policy concluded —
// Trusted, and Removed: the kinds of colour taken from an untrusted
// request, a refused pin, a signature that did not verify.
func TestDecisionOutcome(t *testing.T) {
	now := time.Now()
	p, tb := newPolicy(t, now, nil)
	signed := request("203.0.113.9:5000", "/users/1", "X-Env: canary")
	signed.Header.Set("X-Turnout-Colour-Sig", p.Sign(signed, key, now))
	for _, tc := range []struct {
		name    string
		r       *http.Request
		trusted bool
		removed route.Removed
		served  string
	}{
		{"trusted network", request("10.0.0.1:5000", "/users/1", "X-Env: canary"), true, 0, "v2"},
		{"trusted via proxy", request("192.168.1.1:5000", "/users/1", "X-Forwarded-For: 10.9.9.9", "X-Env: canary"), true, 0, "v2"},
		{"untrusted, nothing to remove", request("203.0.113.9:5000", "/users/1"), false, 0, "v1"},
		{"untrusted colour", request("203.0.113.9:5000", "/users/1?flavour=new", "X-Env: canary", "Cookie: beta=yes"), false,
			route.RemovedHeader | route.RemovedCookie | route.RemovedQuery, "v1"},
		{"untrusted pin refused", request("203.0.113.9:5000", "/users/1", "X-API-Version: 2"), false, route.RemovedPin, "v1"},
		{"untrusted pin allowed", request("203.0.113.9:5000", "/open/1", "X-API-Version: 2"), false, 0, "v2"},
		{"forged signature", request("203.0.113.9:5000", "/users/1", "X-Env: canary", "X-Turnout-Colour-Sig: t=1,h=00"), false,
			route.RemovedHeader | route.RemovedSignature, "v1"},
		{"signed", signed, true, 0, "v2"},
	} {
		d := p.Decide(tb, tc.r)
		if d.Trusted != tc.trusted || d.Removed != tc.removed || d.Version == nil || d.Version.Name != tc.served {
			t.Errorf("%s: Trusted %v Removed %q served %v; want %v %q %s", tc.name, d.Trusted, d.Removed, d.Version, tc.trusted, tc.removed, tc.served)
		}
	}
	var nilPolicy *Policy
	if d := nilPolicy.Decide(tb, request("203.0.113.9:5000", "/users/1", "X-Env: canary")); !d.Trusted || d.Removed != 0 {
		t.Errorf("nil policy: Trusted %v Removed %q, want trusted, nothing removed", d.Trusted, d.Removed)
	}
}
