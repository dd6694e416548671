package mirror

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/mirror/compare"
	"github.com/turnout-gw/turnout/internal/pipeline"
	"github.com/turnout-gw/turnout/internal/route"
	"github.com/turnout-gw/turnout/internal/store"
	"github.com/turnout-gw/turnout/internal/upstream"
)

func TestEndpointOf(t *testing.T) {
	for _, tc := range []struct{ method, prefix, path, want string }{
		{"GET", "/users", "/users", "GET /users"},
		{"GET", "/users", "/users/", "GET /users"},
		{"GET", "/users", "/users/42", "GET /users/{id}"},
		{"GET", "/users", "/users/42/orders/7", "GET /users/{id}"},
		{"GET", "/users", "/users/me", "GET /users/me"},
		{"PUT", "/users", "/users/3f2b1c9a-1d2e-4f5a-9b8c-7d6e5f4a3b2c", "PUT /users/{id}"},
		{"GET", "/users", "/users/deadbeefdeadbeef", "GET /users/{id}"},
		{"GET", "/", "/items/1", "GET /items"},
		{"GET", "/", "/", "GET /"},
		{"GET", "/api/", "/api/v1", "GET /api/v1"},
		{"GET", "/users", "/other/x", "GET /other"},
	} {
		if got := endpointOf(tc.method, tc.prefix, tc.path); got != tc.want {
			t.Errorf("endpointOf(%s, %s, %s) = %q, want %q", tc.method, tc.prefix, tc.path, got, tc.want)
		}
	}
}

func TestPathPattern(t *testing.T) {
	for in, want := range map[string]string{
		"/items/3/price": "/items/*/price", "/total": "/total", "status": "status", "": "",
		"header:X-Id": "header:X-Id", "/a/10/b/2": "/a/*/b/*",
	} {
		if got := pathPattern(in); got != want {
			t.Errorf("pathPattern(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRingAndEncoding(t *testing.T) {
	r := pipeline.NewRing[Sample](3)
	for i := range 5 {
		r.Push(Sample{Request: string(rune('a' + i))})
	}
	got := ""
	for _, s := range r.List(10) {
		got += s.Request
	}
	if got != "edc" {
		t.Errorf("ring list = %q, want edc", got)
	}
	big := strings.Repeat("<\x00>", 2048)
	var many []Sample
	for range 200 {
		many = append(many, Sample{Request: "GET /", Primary: SampleResponse{Body: big}, Candidate: SampleResponse{Body: big}})
	}
	b, err := encodeSamples(many)
	if err != nil || len(b) > store.MaxBlobSize || !bytes.Contains(b, []byte(`"samples"`)) {
		t.Errorf("encoded %d bytes (max %d), %v", len(b), store.MaxBlobSize, err)
	}
	if got := cut("héllo", 2); got != "h" {
		t.Errorf("cut = %q", got)
	}
}

// newTestManager returns a manager over one service's mirror block, whose
// pools are empty (copies fail), with a queue of n.
func newTestManager(t *testing.T, m *config.Mirror, n int) (*Manager, *route.Table) {
	t.Helper()
	cfg := &config.Config{
		Upstreams: map[string]*config.Upstream{"u1": {Targets: []string{"http://127.0.0.1:1"}}, "u2": {Targets: []string{"http://127.0.0.1:1"}}},
		Services: map[string]*config.Service{"s": {Name: "s", Match: config.Match{PathPrefix: "/s"}, Default: "v1",
			Versions: map[string]*config.Version{"v1": {Upstream: "u1"}, "v2": {Upstream: "u2"}}, Mirror: m}},
	}
	cfg.ApplyDefaults()
	table, err := route.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mgr, err := New(Options{Pool: func(string) *upstream.Pool { return nil }, Queue: n, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mgr.Close(t.Context()) })
	mgr.Update(cfg)
	return mgr, table
}

func TestStartSelects(t *testing.T) {
	mgr, table := newTestManager(t, &config.Mirror{To: "v2", MaxBody: 8}, 1)
	start := func(method, path, body string, hdr ...string) pipeline.Exchange {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		for _, h := range hdr {
			k, v, _ := strings.Cut(h, ": ")
			r.Header.Set(k, v)
		}
		d := table.Decide(r)
		return mgr.Start(r, &d)
	}
	if start("GET", "/s/1", "") == nil {
		t.Error("GET not mirrored")
	}
	if start("POST", "/s/1", "x") != nil {
		t.Error("POST mirrored without being listed")
	}
	if start("GET", "/s/1", "", "X-API-Version: v2") != nil {
		t.Error("a request to the mirror's own version mirrored")
	}
	if start("GET", "/s/1", "123456789") != nil || mgr.lookup("s").res.tooLarge.Load() != 1 {
		t.Error("a body over max_body mirrored or not counted")
	}
	if start("GET", "/other", "") != nil {
		t.Error("an unmatched request mirrored")
	}
}

func TestTapTeeAndQueue(t *testing.T) {
	mgr, table := newTestManager(t, &config.Mirror{To: "v2", MaxBody: 4}, 1)
	mgr.p.StopWorkers() // workers stop: queued taps stay queued
	run := func() *tap {
		r := httptest.NewRequest("GET", "/s/1", nil)
		d := table.Decide(r)
		mt := mgr.Start(r, &d)
		if mt == nil {
			t.Fatal("not mirrored")
		}
		resp := &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("0123456789"))}
		body := mt.Response(resp, d.Version)
		if b, _ := io.ReadAll(body); string(b) != "0123456789" {
			t.Fatalf("client got %q", b)
		}
		mt.Done(nil)
		return mt.(*tap)
	}
	tp := run()
	if string(tp.Buf) != "0123" || !tp.Truncated {
		t.Errorf("tee kept %q, truncated %v", tp.Buf, tp.Truncated)
	}
	run() // the queue (1) is full: dropped
	if got := mgr.lookup("s").res.Dropped(); got != 1 {
		t.Errorf("dropped = %d, want 1", got)
	}
}

func TestGateEvaluate(t *testing.T) {
	now := time.Unix(2_000_000, 0)
	mgr, _ := newTestManager(t, &config.Mirror{To: "v2", Compare: &config.Compare{}}, 1)
	mgr.o.Now = func() time.Time { return now }
	res := mgr.lookup("s").res
	for i := range 10 {
		res.record(now.Add(-time.Duration(i)*time.Second), "GET /s", compare.Result{Match: i != 0}, false, nil)
	}
	g := mgr.Gate()
	max := 0.05
	if th, ok := g.Threshold(&config.Analysis{MaxDiffRate: &max}); !ok || th != max {
		t.Errorf("threshold = %v, %v", th, ok)
	}
	if _, ok := g.Threshold(&config.Analysis{}); ok {
		t.Error("a threshold without max_diff_rate")
	}
	if rate, n := g.Evaluate("s", 10*time.Second, time.Time{}); rate != 0.1 || n != 10 {
		t.Errorf("Evaluate = %v over %d, want 0.1 over 10", rate, n)
	}
	if _, n := g.Evaluate("s", 10*time.Second, now.Add(-4*time.Second)); n != 5 {
		t.Errorf("since 4s ago: %d samples, want 5", n)
	}
	if rate, n := g.Evaluate("unknown", 10*time.Second, time.Time{}); rate != 0 || n != 0 {
		t.Errorf("unknown service: %v over %d", rate, n)
	}
}
