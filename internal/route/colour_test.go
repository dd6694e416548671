package route

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestColours(t *testing.T) {
	tb := mustTable(t, testYAML)
	var got []string
	for _, k := range tb.Colours() {
		got = append(got, k.String())
	}
	want := "cookie:beta header:X-Env header:X-User-Id query:flavour"
	if strings.Join(got, " ") != want {
		t.Errorf("Colours = %v, want %s", got, want)
	}
	for _, c := range []struct{ service, want string }{
		{"users", "[header:X-Api-Version query:version]"},
		{"orders", "[header:X-Api-Version query:version]"},
		{"root", "[header:X-Api-Version]"},
	} {
		if got := fmt.Sprint(tb.Service(c.service).PinKeys()); got != c.want {
			t.Errorf("%s PinKeys = %s, want %s", c.service, got, c.want)
		}
	}
}

// TestDecideUnpinned: every kind of pin (and a malformed or unknown one)
// is ignored; rules, the split and the default still apply.
func TestDecideUnpinned(t *testing.T) {
	tb := mustTable(t, testYAML, WithRand(func() uint64 { return 999_999 }))
	for _, c := range []struct {
		name string
		r    *http.Request
		want string // reason version status
	}{
		{"header pin", req("GET", "/users/1", "X-API-Version: 2"), "rollout v1 0"},
		{"accept pin", req("GET", "/users/1", "Accept: application/vnd.example.v2+json"), "rollout v1 0"},
		{"path pin", req("GET", "/v2/users/1"), "rollout v1 0"},
		{"unknown pin", req("GET", "/users/1", "X-API-Version: 9"), "rollout v1 0"},
		{"malformed pin", req("GET", "/users/1", "X-API-Version: !!"), "rollout v1 0"},
		{"gone pin", req("GET", "/users/1", "X-API-Version: v0"), "rollout v1 0"},
		{"rule still applies", req("GET", "/users/1", "X-API-Version: 1", "X-Env: canary"), "rule v2 0"},
	} {
		t.Run(c.name, func(t *testing.T) {
			pinned := tb.Decide(c.r)
			if !pinned.Negotiated() && c.name != "rule still applies" {
				t.Errorf("Decide %+v is not negotiated", pinned)
			}
			d := tb.DecideUnpinned(c.r)
			if got := fmt.Sprintf("%v %s %d", d.Reason, d.Version.Name, d.Status); got != c.want {
				t.Errorf("DecideUnpinned = %s, want %s", got, c.want)
			}
			if d.Negotiated() {
				t.Errorf("DecideUnpinned decision counts as negotiated")
			}
		})
	}
}

func TestCompileFaults(t *testing.T) {
	text := strings.Replace(testYAML, "      v2: { upstream: u2 }\n      v2.1",
		"      v2: { upstream: u2, fault: { abort: { percent: 30, status: 503 } } }\n      v2.1", 1)
	text = strings.Replace(text, "        version: v2\n      - name: beta-cookie",
		"        version: v2\n        fault: { delay: { percent: 100, duration: 10ms } }\n      - name: beta-cookie", 1)
	tb := mustTable(t, text)
	s := tb.Service("users")
	if f := s.Version("v2").Fault; f == nil || f.AbortPercent != 30 || f.AbortStatus != 503 {
		t.Errorf("v2 fault = %+v", f)
	}
	if s.Version("v1").Fault != nil {
		t.Error("v1 has a fault")
	}
	if f := s.Rules[0].Fault; f == nil || f.DelayPercent != 100 {
		t.Errorf("rule fault = %+v", f)
	}
	if s.Rules[1].Fault != nil {
		t.Error("rule beta-cookie has a fault")
	}
}
