package live

import (
	"fmt"
	"strings"
	"testing"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/contract"
	"github.com/turnout-gw/turnout/internal/route"
	"github.com/turnout-gw/turnout/internal/store"
)

func TestTemplateMatch(t *testing.T) {
	for _, tc := range []struct {
		tmpl, path string
		want       bool
	}{
		{"/items/{id}", "/items/3", true},
		{"/items/{id}", "/items/", false},
		{"/items/{id}", "/items/3/", false},
		{"/items/{id}", "/items", false},
		{"/items/{id}", "/items/3/x", false},
		{"/items/{id}.json", "/items/3.json", true},
		{"/items/{id}.json", "/items/.json", false},
		{"/items/{id}.json", "/items/3.xml", false},
		{"/items", "/items", true},
		{"/items", "/items/", false},
		{"/", "/", true},
		{"/", "/items", false},
		{"/a/{x}/b/{y}", "/a/1/b/2", true},
		{"/a/{x}/b/{y}", "/a/1/c/2", false},
		{"/items/{id}", "", false},
		{"/items/{id}", "items/3", false},
	} {
		tm := parseTemplate(tc.tmpl)
		if got := tm.match(tc.path); got != tc.want {
			t.Errorf("%s matches %q: %v, want %v", tc.tmpl, tc.path, got, tc.want)
		}
	}
	a, b := parseTemplate("/items/latest"), parseTemplate("/items/{id}")
	if !a.moreSpecific(&b) || b.moreSpecific(&a) || a.moreSpecific(&a) {
		t.Error("a literal segment must win over a parameter, and only then")
	}
}

func FuzzTemplate(f *testing.F) {
	for _, s := range []string{"/items/{id}", "/a/{x}.json/b", "/", "", "/{", "/}{", "//"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, tmpl, path string) {
		tm := parseTemplate(tmpl)
		tm.match(path)
		if strings.HasPrefix(tmpl, "/") && !strings.ContainsAny(tmpl, "{}") && !tm.match(tmpl) {
			t.Errorf("literal template %q does not match itself", tmpl)
		}
	})
}

// TestDepMatcher: the deprecated items of items-v1.yaml on requests.
func TestDepMatcher(t *testing.T) {
	f := newFixture(t, Options{})
	dm := f.m.lookup("items").deprecated["v1"].dep
	if dm == nil {
		t.Fatal("v1 has deprecated items but no matcher")
	}
	if _, ok := f.m.lookup("items").deprecated["v2"]; ok {
		t.Error("v2 has nothing deprecated but a matcher")
	}
	for _, tc := range []struct{ method, path, want string }{
		{"GET", "/items/legacy/3", "GET /items/legacy/{id}"},
		{"GET", "/api/items/legacy/3", "GET /items/legacy/{id}"}, // the server's base path
		{"POST", "/items/legacy/3", ""},
		{"GET", "/items/3", "GET /items/{id}"}, // has a deprecated parameter
		{"GET", "/items/latest", ""},           // more specific than /items/{id}
		{"GET", "/other/3", ""},
	} {
		got := ""
		if op := dm.match(request(tc.method, tc.path)); op != nil {
			got = op.label
		}
		if got != tc.want {
			t.Errorf("%s %s: %q, want %q", tc.method, tc.path, got, tc.want)
		}
	}
}

func TestClientKey(t *testing.T) {
	long := strings.Repeat("x", 100)
	for _, tc := range []struct {
		key, header, value, want string
	}{
		{"header:X-Client-ID", "X-Client-ID", "alice", "alice"},
		{"header:X-Client-ID", "X-Other", "alice", NoClient},
		{"header:X-Client-ID", "X-Client-ID", long, long[:maxClientLen]},
		{"header:Authorization", "Authorization", "Bearer s3cret", HashClient("Bearer s3cret")},
		{"header:X-Api-Token", "X-Api-Token", "t0k3n", HashClient("t0k3n")},
		{"cookie:sid", "Cookie", "sid=abc", HashClient("abc")},
		{"query:client", "", "", NoClient},
	} {
		k, err := config.ParseStickyKey(tc.key)
		if err != nil {
			t.Fatal(err)
		}
		r := request("GET", "/items/1")
		if tc.header != "" {
			r.Header.Set(tc.header, tc.value)
		}
		if got := newClientKey(k).value(r); got != tc.want {
			t.Errorf("%s from %s: %q, want %q", tc.key, tc.header, got, tc.want)
		}
	}
	if h := HashClient("Bearer s3cret"); len(h) != len("sha256:")+16 || !strings.HasPrefix(h, "sha256:") {
		t.Errorf("HashClient = %q, want sha256: and 16 hex digits", h)
	}
	if got := (clientKey{}).value(request("GET", "/")); got != NoClient {
		t.Errorf("no client key: %q, want %q", got, NoClient)
	}
}

// TestUsageCap: clients beyond the cap are counted together.
func TestUsageCap(t *testing.T) {
	f := newFixture(t, Options{MaxClients: 2})
	for _, c := range []string{"a", "b", "c", "d", "a"} {
		f.m.Start(request("GET", "/items/legacy/1", "X-Client-ID", c), &route.Decision{Service: f.svc, Version: f.v1})
	}
	d, ok := f.m.Deprecations("items")
	if !ok {
		t.Fatal("no deprecations")
	}
	got := map[string]uint64{}
	for _, u := range d.Uses {
		got[u.Client] = u.Count
	}
	if got["a"] != 2 || got["b"] != 1 || got[OtherClient] != 2 || len(got) != 3 || d.Clients != 2 || d.OverflowUses != 2 {
		t.Errorf("uses %v, clients %d, overflow %d; want a 2, b 1, (other) 2", got, d.Clients, d.OverflowUses)
	}
}

// TestStartCostsNothing: a request that uses nothing deprecated, routed to
// a version that is not validated, is declined without allocating.
func TestStartCostsNothing(t *testing.T) {
	f := newFixture(t, Options{})
	r := request("GET", "/items/3")
	d := &route.Decision{Service: f.svc, Version: f.v1}
	if tp := f.m.Start(r, d); tp != nil {
		t.Fatal("a plain request to v1 was tapped")
	}
	if n := testing.AllocsPerRun(100, func() { f.m.Start(r, d) }); n != 0 {
		t.Errorf("Start allocated %v times", n)
	}
}

// stopWorkers stops f's workers so the queue is not drained.
func stopWorkers(f *fixture) { f.m.p.StopWorkers() }

// next takes the next queued answer off f's queue.
func next(f *fixture) *tap {
	tp, _ := f.m.p.Take()
	return tp
}

// TestTapLimits: an answer from another version (fallback), one too large
// by its length or as it streams, and one finding the queue full are not
// validated, and counted.
func TestTapLimits(t *testing.T) {
	f := newFixture(t, Options{Queue: 1})
	stopWorkers(f)
	start := func() *tap {
		tp, _ := f.m.Start(request("GET", "/items/3"), &route.Decision{Service: f.svc, Version: f.v2}).(*tap)
		if tp == nil || !tp.validate {
			t.Fatal("an answer of v2 is not validated at validate_percent 100")
		}
		return tp
	}
	answer(t, start(), f.v1, 200, `{"id":1,"total":1}`) // a fallback answered
	big := `{"id":1,"total":1,"tags":["` + strings.Repeat("x", 2000) + `"]}`
	answer(t, start(), f.v2, 200, big)
	streamed := start()
	streamed.Response(responseOf(big, -1), f.v2)
	readAll(t, streamed)
	streamed.Done(nil)
	answer(t, start(), f.v2, 200, `{"id":1,"total":1}`) // queued
	answer(t, start(), f.v2, 200, `{"id":1,"total":1}`) // the queue is full
	res := f.m.lookup("items").gate.res
	if n := f.m.p.Queued(); n != 1 {
		t.Errorf("%d queued, want 1", n)
	}
	if res.tooLarge.Load() != 2 || res.Dropped() != 1 {
		t.Errorf("too large %d, dropped %d; want 2 and 1", res.tooLarge.Load(), res.Dropped())
	}
}

// TestProcess: validating an answer records it, with samples for the
// violating ones; a request the from document has no operation for is
// unmatched.
func TestProcess(t *testing.T) {
	f := newFixture(t, Options{})
	stopWorkers(f)
	run := func(path string, status int, body string, header ...string) {
		tp := f.m.Start(request("GET", path), &route.Decision{Service: f.svc, Version: f.v2}).(*tap)
		answer(t, tp, f.v2, status, body, header...)
		f.m.process(t.Context(), next(f))
	}
	run("/items/3", 200, `{"id":3,"total":10}`)
	run("/items/3", 200, `{"id":3}`)
	run("/items/3", 200, `<p>`, "Content-Type", "text/html")
	run("/items/3", 500, `oops`) // not documented: not a violation
	run("/nope", 200, `{}`)
	v, ok := f.m.Validation("items")
	if !ok {
		t.Fatal("no validation view")
	}
	if v.Validated != 4 || v.Violations != 2 || v.Unmatched != 1 || len(v.Samples) != 2 {
		t.Fatalf("validated %d, violations %d, unmatched %d, samples %d; want 4, 2, 1, 2", v.Validated, v.Violations, v.Unmatched, len(v.Samples))
	}
	if vi := v.Samples[0].Violations; len(vi) != 1 || !strings.Contains(vi[0].Message, "text/html") {
		t.Errorf("newest sample %+v, want the content type's violation", vi)
	}
	if vi := v.Samples[1].Violations; len(vi) != 1 || vi[0].Keyword != "required" || !strings.Contains(vi[0].Message, "total") {
		t.Errorf("older sample %+v, want the missing total", vi)
	}
	rate, n := f.m.Gate().Evaluate("items", time1m, f.clock.Now().Add(-time1m))
	if n != 4 || rate != 0.5 {
		t.Errorf("gate: %v of %d, want 0.5 of 4", rate, n)
	}
}

// TestUpdateKeeps: a reload with the same documents keeps the compiled
// documents, the validation results and the deprecated usage; one that
// turns validation off keeps the usage only.
func TestUpdateKeeps(t *testing.T) {
	f := newFixture(t, Options{})
	before := f.m.lookup("items")
	f.m.Start(request("GET", "/items/legacy/1", "X-Client-ID", "alice"), &route.Decision{Service: f.svc, Version: f.v1})
	reload := func(text string) *service {
		cfg, err := config.Parse("turnout.yaml", []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		f.m.Update(cfg, func(_, v string) *contract.Document { return f.docs[v] })
		return f.m.lookup("items")
	}
	after := reload(unitYAML)
	if after == before || after.gate.doc != before.gate.doc || after.gate.res != before.gate.res || after.use != before.use {
		t.Error("an unchanged reload rebuilt the service's documents or dropped its results")
	}
	off := reload(strings.Replace(unitYAML, "validate_percent: 100", "validate_percent: 0", 1))
	if off.gate != nil || len(off.checks) != 0 || off.use != before.use {
		t.Errorf("validation off: checks %v, usage kept %v", off.checks, off.use == before.use)
	}
	if _, ok := f.m.Validation("items"); ok {
		t.Error("a validation view without validation")
	}
	if d, _ := f.m.Deprecations("items"); len(d.Uses) != 1 {
		t.Errorf("uses %+v after reloads, want alice's one", d.Uses)
	}
}

// TestUsageSurvivesRestart: a Manager closed with deprecated usage leaves
// it in the store, and the next one over the same store starts with it.
func TestUsageSurvivesRestart(t *testing.T) {
	st, err := store.Open(store.MemoryPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	first := newFixture(t, Options{Store: st})
	for _, c := range []string{"alice", "alice", "bob"} {
		first.m.Start(request("GET", "/items/legacy/1", "X-Client-ID", c), &route.Decision{Service: first.svc, Version: first.v1})
	}
	want, _ := first.m.Deprecations("items")
	if err := first.m.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	second := newFixture(t, Options{Store: st})
	got, _ := second.m.Deprecations("items")
	if fmt.Sprint(got.Uses) != fmt.Sprint(want.Uses) || got.Clients != 2 || len(got.Uses) != 2 {
		t.Errorf("after a restart: %+v (%d clients), want %+v", got.Uses, got.Clients, want.Uses)
	}
	second.m.Start(request("GET", "/items/legacy/1", "X-Client-ID", "bob"), &route.Decision{Service: second.svc, Version: second.v1})
	got, _ = second.m.Deprecations("items")
	for _, u := range got.Uses {
		if u.Client == "bob" && u.Count != 2 {
			t.Errorf("bob's count after a restart and one more call: %d, want 2", u.Count)
		}
	}
}

// TestOperation names requests by their document's path templates: the
// most specific template wins, a server's base path may prefix the path,
// and what the document does not declare is "".
func TestOperation(t *testing.T) {
	f := newFixture(t, Options{})
	for _, tc := range []struct{ version, method, path, want string }{
		{"v1", "GET", "/items/42", "GET /items/{id}"},
		{"v1", "GET", "/items/latest", "GET /items/latest"},
		{"v1", "GET", "/api/items/7", "GET /items/{id}"},
		{"v1", "GET", "/items/legacy/7", "GET /items/legacy/{id}"},
		{"v1", "DELETE", "/items/42", ""},
		{"v1", "GET", "/orders/1", ""},
		{"v9", "GET", "/items/42", ""},
	} {
		if got := f.m.Operation("items", tc.version, tc.method, tc.path); got != tc.want {
			t.Errorf("Operation(%s %s %s) = %q, want %q", tc.version, tc.method, tc.path, got, tc.want)
		}
	}
	if got := f.m.Operation("nope", "v1", "GET", "/items/1"); got != "" {
		t.Errorf("unknown service: %q", got)
	}
	if n := testing.AllocsPerRun(100, func() { f.m.Operation("items", "v1", "GET", "/api/items/7") }); n != 0 {
		t.Errorf("Operation allocates %v times", n)
	}
}
