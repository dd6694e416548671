package trust

import (
	"net/http"
	"testing"
	"time"
)

// FuzzParseSig: any header value parses or is refused without panicking,
// and what parses has a 64-digit MAC.
func FuzzParseSig(f *testing.F) {
	for _, s := range []string{"t=1,h=" + string(make([]byte, 64)), "t=1", "h=00,t=2", "t=,h=", ",,", "t=1,t=2,h=x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if _, mac, ok := parseSig(v); ok && len(mac) != 64 {
			t.Fatalf("parsed a %d-character MAC", len(mac))
		}
	})
}

// FuzzDecide: arbitrary X-Forwarded-For, Cookie, query and signature values
// never panic, and an untrusted request never keeps a colour.
func FuzzDecide(f *testing.F) {
	f.Add("10.0.0.1, 192.168.0.1", "beta=yes; a=1", "flavour=new&x=1", "t=1,h=00")
	f.Add(",,, ,", ";;=;", "&&=&%zz", "")
	p, tb := newPolicy(f, time.Unix(1_800_000_000, 0), nil)
	f.Fuzz(func(t *testing.T, xff, cookie, query, sig string) {
		r := request("203.0.113.9:5000", "/users/1")
		r.URL.RawQuery = query
		r.Header = http.Header{"X-Forwarded-For": {xff}, "Cookie": {cookie}, "X-Turnout-Colour-Sig": {sig}, "X-Env": {"canary"}}
		p.Decide(tb, r)
		if r.Header.Get("X-Env") != "" || p.colours.anyCookie(r.Header["Cookie"]) || p.colours.anyQuery(r.URL.RawQuery) {
			t.Fatalf("colour left on an untrusted request: %v %q", r.Header, r.URL.RawQuery)
		}
	})
}
