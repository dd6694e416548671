package route

import (
	"testing"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/fault"
)

const faultYAML = `
upstreams:
  u: { targets: [http://127.0.0.1:9001] }
services:
  users:
    match: { path_prefix: /users }
    default: v1
    versions:
      v1: { upstream: u, fault: { abort: { percent: 100, status: 502 } } }
      v2: { upstream: u }
      v3: { upstream: u, fault: { abort: { percent: 10, status: 503 } } }
    rules:
      - name: own
        match: { header: { X-Env: own } }
        version: v2
        fault: { abort: { percent: 100, status: 429 } }
      - name: plain
        match: { header: { X-Env: plain } }
        version: v3
      - name: ab
        match: { header: { X-Env: ab } }
        experiment: { arms: { v1: 50, v3: 50 } }
        fault: { delay: { percent: 100, duration: 1s } }
`

// TestDecisionFault: the fault to inject is decided with the version —
// the matched rule's when it has one (also for every experiment arm),
// else the version's — and a fallback attempt on another version carries
// that version's own (Decision.FaultFor), as the proxy has always applied.
func TestDecisionFault(t *testing.T) {
	cfg, err := config.Parse("fault.yaml", []byte(faultYAML))
	if err != nil {
		t.Fatal(err)
	}
	tab, err := Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := tab.Service("users")
	v1, v2, v3 := s.Version("v1"), s.Version("v2"), s.Version("v3")
	rule := func(name string) *Rule {
		for _, r := range s.Rules {
			if r.Name == name {
				return r
			}
		}
		t.Fatalf("no rule %s", name)
		return nil
	}
	cases := []struct {
		name    string
		headers []string
		want    *fault.Spec
	}{
		{"default", nil, v1.Fault},
		{"pinned without fault", []string{"X-API-Version", "2"}, nil},
		{"pinned with fault", []string{"X-API-Version", "3"}, v3.Fault},
		{"rule's own replaces the version's", []string{"X-Env", "own"}, rule("own").Fault},
		{"rule without one keeps the version's", []string{"X-Env", "plain"}, v3.Fault},
		{"experiment arm", []string{"X-Env", "ab"}, rule("ab").Fault},
	}
	for _, tc := range cases {
		r := req("GET", "http://x/users/1")
		for i := 0; i < len(tc.headers); i += 2 {
			r.Header.Set(tc.headers[i], tc.headers[i+1])
		}
		d := tab.Decide(r)
		if d.Fault != tc.want || d.FaultFor(d.Version) != tc.want {
			t.Errorf("%s: fault %+v, want %+v", tc.name, d.Fault, tc.want)
		}
		if d.Fault != d.Rule.FaultFor(d.Version) {
			t.Errorf("%s: decision's fault is not its rule's FaultFor", tc.name)
		}
		if other := map[*Version]*Version{v1: v2, v2: v3, v3: v1}[d.Version]; d.FaultFor(other) != other.Fault {
			t.Errorf("%s: fallback to %s carries %+v, want its own %+v", tc.name, other.Name, d.FaultFor(other), other.Fault)
		}
	}
	if v1.Fault == nil || v3.Fault == nil || rule("own").Fault == nil || rule("ab").Fault == nil {
		t.Fatal("the configuration's faults did not compile")
	}
}
