package qnproxy_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/qnproxy"
	"github.com/turnout-gw/turnout/internal/route"
	"github.com/turnout-gw/turnout/internal/testutil"
	"github.com/turnout-gw/turnout/internal/testutil/routecases"
	"github.com/turnout-gw/turnout/internal/testutil/routecases/trustcases"
	"github.com/turnout-gw/turnout/qn"
)

// The QN picker's harness of the shared case table (internal/testutil/
// routecases: the pins, lifecycle and sticky split, the fault and the
// trust cases the proxy, the middleware and the Envoy emulator run).
// Devices send frames, not HTTP requests: a case QN can express runs
// through Pick on the qn equivalent of its configuration; a case it
// cannot (a pin, colour, a rule, a fault) names the key QN refuses, and
// the applier table (config.Service.Refusals for qn) and validate must
// refuse that key in the qn variant of the configuration.

// qnVars are the upstreams of the cases' configurations.
func qnVars(weight string) map[string]string {
	return map[string]string{"V1": "http://127.0.0.1:9001", "V2": "http://127.0.0.1:9002", "WEIGHT": weight, "KEYENV": trustcases.KeyEnv}
}

// qnVariant makes service of text a qn service; with key negotiate it
// also writes the negotiation sources the cases pin by when the service
// relies on the default ones.
func qnVariant(text, service, key string) string {
	head := "  " + service + ":\n"
	at := strings.Index(text, head)
	if at < 0 {
		panic("no service " + service)
	}
	add := "    protocol: qn\n    listen: 127.0.0.1:0\n"
	block := text[at+len(head):]
	if key == "negotiate" && !serviceHas(block, "negotiate") {
		add += "    negotiate: { sources: [header, accept, path, query] }\n"
	}
	return text[:at+len(head)] + add + block
}

// serviceHas reports whether the service block (the text after its name
// line) writes key.
func serviceHas(block, key string) bool {
	for _, l := range strings.Split(block, "\n") {
		if l != "" && !strings.HasPrefix(l, "    ") {
			return false // the next service or top-level key
		}
		if strings.HasPrefix(l, "    "+key+":") {
			return true
		}
	}
	return false
}

// assertRefused: the applier table refuses services.SERVICE.KEY for qn in
// text, and validate refuses text with an error at that key.
func assertRefused(t *testing.T, text, service, key string) {
	t.Helper()
	cfg, err := config.Decode("qn.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	want := "services." + service + "." + key
	var found *config.Refusal
	for _, r := range cfg.Refusals(config.ApplierQN) {
		if r.Key == want {
			found = &r
			break
		}
	}
	if found == nil {
		t.Fatalf("the applier table does not refuse %s for qn: %v", want, cfg.Refusals(config.ApplierQN))
	}
	_, err = config.Parse("qn.yaml", []byte(text))
	var es config.Errors
	if !errors.As(err, &es) {
		t.Fatalf("validate accepts the qn variant (%v); want %s refused", err, want)
	}
	for _, e := range es {
		if !e.Warning && e.Pos == found.KeyPos && strings.HasPrefix(e.Msg, want+": ") {
			return
		}
	}
	t.Fatalf("validate does not refuse %s at %s:\n%v", want, found.KeyPos, err)
}

// qnService compiles the qn equivalent of text's users service: the qn
// variant without the keys the applier table refuses for qn (match,
// negotiate, rules, rollout.sticky), its versions speaking QN v1 to tcp
// upstreams.
func qnService(t *testing.T, text string) (*route.Table, *route.Service) {
	t.Helper()
	text = strings.ReplaceAll(qnVariant(text, "users", ""), "http://", "tcp://")
	cfg, err := config.Decode("qn.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	drop := map[int]bool{}
	for _, r := range cfg.Refusals(config.ApplierQN) {
		drop[r.KeyPos.Line] = true
	}
	var kept []string
	indent := -1 // the indentation of the key being dropped, with its block
	for i, l := range strings.Split(text, "\n") {
		ind := len(l) - len(strings.TrimLeft(l, " "))
		switch {
		case drop[i+1]:
			indent = ind
			continue
		case indent >= 0 && ind > indent:
			continue
		}
		indent = -1
		kept = append(kept, strings.Replace(l, "{ upstream: ", "{ speaks: v1, upstream: ", 1))
	}
	cfg, err = config.Parse("qn.yaml", []byte(strings.Join(kept, "\n")))
	if err != nil {
		t.Fatalf("the qn equivalent does not load: %v\n%s", err, strings.Join(kept, "\n"))
	}
	table, err := route.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return table, table.Service("users")
}

// pick is the version a v1 device with id gets.
func pick(s *route.Service, id string) string {
	v, _ := qnproxy.Pick(s, qn.V1, qnproxy.DeviceBucket(s, id, 0))
	if v == nil {
		return ""
	}
	return v.Name
}

// TestQNPins runs routecases.Pins against the QN picker.
func TestQNPins(t *testing.T) {
	text := testutil.Expand(routecases.YAML, qnVars("0"))
	_, s := qnService(t, text)
	for _, tc := range routecases.Pins {
		t.Run(tc.Name, func(t *testing.T) {
			if key := tc.QNKey(); key != "" {
				if !tc.RefusedBy(routecases.QN) {
					t.Fatal("the table names a key QN refuses but not QN among the appliers refusing the case")
				}
				assertRefused(t, qnVariant(text, "users", key), "users", key)
				return
			}
			if tc.Status != 200 {
				t.Fatalf("QN runs only cases a version serves; this one answers %d", tc.Status)
			}
			for i := 0; i < 1000; i++ {
				id := fmt.Sprintf("device-%d", i)
				if got := pick(s, id); got != tc.Served {
					t.Fatalf("%s picked %q, want %s", id, got, tc.Served)
				}
			}
		})
	}
	t.Run("gone never served", func(t *testing.T) {
		gone := s.Versions[0]
		for _, v := range s.Versions {
			if v.Name == "v0" {
				gone = v
			}
		}
		if gone.Name != "v0" || gone.Lifecycle != route.Gone || qnproxy.CanServe(s, gone, qn.V1) {
			t.Fatalf("v0 (%v) can serve a device, want gone", gone.Lifecycle)
		}
	})
}

// TestQNStickySplit runs routecases.RunStickySplit's case against the QN
// picker, device ids as the sticky key: about 10 % of Users devices reach
// v2 and nobody moves; at weight 30 about 30 % do and nobody on v2 moves
// back.
func TestQNStickySplit(t *testing.T) {
	text := testutil.Expand(routecases.YAML, qnVars("10"))
	assertRefused(t, qnVariant(text, "users", ""), "users", routecases.StickyQN)
	table, s := qnService(t, text)
	assign := func(s *route.Service) map[int]string {
		out := make(map[int]string, routecases.Users)
		for i := 0; i < routecases.Users; i++ {
			out[i] = pick(s, fmt.Sprintf("user-%d", i))
		}
		return out
	}
	share := func(m map[int]string) float64 {
		to := 0
		for _, v := range m {
			if v == "v2" {
				to++
			}
		}
		return float64(to) * 100 / routecases.Users
	}
	first := assign(s)
	if sh := share(first); sh < 9 || sh > 11 {
		t.Fatalf("v2 share %.2f%%, want 10 ± 1", sh)
	}
	for rep := 0; rep < 3; rep++ {
		for i, v := range assign(s) {
			if first[i] != v {
				t.Fatalf("user-%d moved %s → %s on repeat %d", i, first[i], v, rep)
			}
		}
	}
	raised, err := table.WithWeight("users", 30)
	if err != nil {
		t.Fatal(err)
	}
	after := assign(raised.Service("users"))
	if sh := share(after); sh < 29 || sh > 31 {
		t.Fatalf("v2 share after raise %.2f%%, want 30 ± 1", sh)
	}
	t.Logf("v2 share %.2f%% at weight 10, %.2f%% at 30", share(first), share(after))
	for i, v := range first {
		if v == "v2" && after[i] != "v2" {
			t.Fatalf("raising the weight moved user-%d back to %s", i, after[i])
		}
	}
}

// TestQNFaults: QN injects no faults and has no pins or rules, so every
// fault case is refused for QN, at the key it depends on.
func TestQNFaults(t *testing.T) {
	text := testutil.Expand(routecases.FaultYAML, qnVars("0"))
	for _, tc := range routecases.Faults {
		t.Run(tc.Name, func(t *testing.T) {
			key := tc.QNKey()
			if key == "" || !tc.RefusedBy(routecases.QN) {
				t.Fatalf("the case is not marked refused for QN (key %q); QN has no faults to run it with", key)
			}
			assertRefused(t, qnVariant(text, "users", key), "users", key)
		})
	}
}

// TestQNTrust: every trust case routes by colour or a pin, which devices
// cannot send, so each is refused for QN at the key it depends on, in the
// qn variant of the service it requests.
func TestQNTrust(t *testing.T) {
	text := testutil.Expand(routecases.TrustYAML, qnVars("0"))
	for _, tc := range routecases.TrustCases {
		t.Run(tc.Name, func(t *testing.T) {
			key := tc.QNKey()
			if key == "" || !tc.RefusedBy(trustcases.QN) {
				t.Fatalf("the case is not marked refused for QN (key %q)", key)
			}
			service := strings.Split(tc.Path, "/")[1]
			assertRefused(t, qnVariant(text, service, key), service, key)
		})
	}
}
