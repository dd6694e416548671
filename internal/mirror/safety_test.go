package mirror_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/testutil"
)

// twoServicesYAML has /a mirrored to {{V2}} and /b, identical, not mirrored.
const twoServicesYAML = `
upstreams:
  v1: { targets: [{{V1}}] }
  v2: { targets: [{{V2}}] }
services:
  a:
    match: { path_prefix: /a }
    default: v1
    versions: { v1: { upstream: v1 }, v2: { upstream: v2 } }
    mirror: { to: v2, timeout: 10s, compare: {} }
  b:
    match: { path_prefix: /b }
    default: v1
    versions: { v1: { upstream: v1 }, v2: { upstream: v2 } }
`

// p99 returns the 99th percentile of durations.
func p99(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[(len(s)*99+99)/100-1]
}

// TestMirrorSlowTarget: a mirror target that holds every copy until the
// test ends (or the mirror's 10 s timeout) does not delay the client: each
// client is answered while the target still holds its copy. The client's
// p99 with and without mirroring is logged, never asserted.
func TestMirrorSlowTarget(t *testing.T) {
	v1 := newRecorder(t, func(r *http.Request) string { return `{"ok":true}` })
	var copies atomic.Int64
	var ended sync.Map // the paths of the copies the target finished with
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		copies.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
		ended.Store(r.URL.Path, true)
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) }) // before slow.Close, which waits for the handlers
	tt := testutil.Start(t, twoServicesYAML, map[string]string{"V1": v1.URL, "V2": slow.URL})
	c := &http.Client{Timeout: 30 * time.Second}
	const n = 300
	var mirrored, plain []time.Duration
	for i := range 2 * n {
		path := fmt.Sprintf("/b/x%d", i)
		if i%2 == 0 {
			path = fmt.Sprintf("/a/x%d", i)
		}
		start := time.Now()
		send(t, c, "GET", tt.URL+path, "")
		d := time.Since(start)
		if _, ok := ended.Load(path); ok {
			t.Fatalf("GET %s answered after the target finished with its copy: the client waited for the mirror", path)
		}
		if i%2 == 0 {
			mirrored = append(mirrored, d)
		} else {
			plain = append(plain, d)
		}
	}
	t.Logf("client p99: mirrored to a held target %v, not mirrored %v (max %v, %v); copies reached the target: %d",
		p99(mirrored), p99(plain), slices.Max(mirrored), slices.Max(plain), copies.Load())
	if copies.Load() == 0 {
		t.Fatal("no copy reached the slow target")
	}
}

// TestMirrorTargetDown: a mirror target that is down gives error results
// and no client errors.
func TestMirrorTargetDown(t *testing.T) {
	v1 := newRecorder(t, func(r *http.Request) string { return `{"ok":true}` })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String()
	ln.Close()
	tt := testutil.Start(t, twoServicesYAML, map[string]string{"V1": v1.URL, "V2": down})
	c := &http.Client{Timeout: 10 * time.Second}
	const n = 50
	for range n {
		send(t, c, "GET", tt.URL+"/a/x", "") // fails the test on any non-200
	}
	rep := settled(t, tt, "a", n)
	if rep.Error != n || rep.Compared != 0 || !strings.Contains(rep.LastError, "mirror to v2") {
		t.Errorf("report = %+v", rep)
	}
	if got := metric(t, tt, `turnout_mirror_compared_total{result="error",service="a"}`); got != fmt.Sprint(n) {
		t.Errorf("error metric = %q, want %d", got, n)
	}
	if code, _ := report(t, tt, "b"); code != http.StatusNotFound {
		t.Errorf("GET /api/v1/diffs/b (no mirror) = %d, want 404", code)
	}
}

// TestMirrorMethods: only GET, HEAD and OPTIONS are mirrored unless
// methods lists others; copies carry X-Turnout-Mirror and keep the
// Idempotency-Key and the body.
func TestMirrorMethods(t *testing.T) {
	for _, tc := range []struct {
		name, mirror string
		post         bool
	}{
		{"default methods", "compare: {}", false},
		{"POST listed", "methods: [GET, POST], compare: {}", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			echo := func(r *http.Request) string { return `{"ok":true}` }
			v1, v2 := newRecorder(t, echo), newRecorder(t, echo)
			tt := testutil.Start(t, mirrorYAML, map[string]string{"V1": v1.URL, "V2": v2.URL, "MIRROR": tc.mirror})
			c := &http.Client{Timeout: 10 * time.Second}
			send(t, c, "POST", tt.URL+"/items", `{"name":"new"}`, "Idempotency-Key: k-1", "Content-Type: application/json")
			send(t, c, "GET", tt.URL+"/items/1", "")
			want := uint64(1)
			if tc.post {
				want = 2
			}
			// The gateway counts a request after its mirror tap is done, so
			// once both are counted every copy is queued, and settled waits
			// until none is pending: a copy not expected has had its chance.
			testutil.Eventually(t, 10*time.Second, "both requests counted", func() bool {
				return testutil.Metric(t, tt, `turnout_requests_total{code="200",service="items",version="v1"}`) == "2"
			})
			settled(t, tt, "items", want)
			var methods []string
			for _, s := range v2.requests(true) {
				methods = append(methods, s.Method)
				if s.Method == "POST" && (s.Body != `{"name":"new"}` || s.IdemKey != "k-1" || s.Path != "/items") {
					t.Errorf("POST copy = %+v", s)
				}
			}
			slices.Sort(methods)
			if want := map[bool]string{false: "GET", true: "GET,POST"}[tc.post]; strings.Join(methods, ",") != want {
				t.Errorf("mirrored methods %v, want %s", methods, want)
			}
			if p := v1.requests(false); len(p) != 2 || p[0].Body != `{"name":"new"}` || p[0].IdemKey != "k-1" {
				t.Errorf("primary got %+v", p)
			}
		})
	}
}

// TestMirrorBodies: a GET without a body is mirrored without EOF errors; a
// body over max_body is not mirrored (counted), and the primary still gets
// it whole.
func TestMirrorBodies(t *testing.T) {
	echo := func(r *http.Request) string { return fmt.Sprintf(`{"method":%q}`, r.Method) }
	v1, v2 := newRecorder(t, echo), newRecorder(t, echo)
	tt := testutil.Start(t, mirrorYAML, map[string]string{"V1": v1.URL, "V2": v2.URL,
		"MIRROR": "methods: [GET, HEAD, PUT], max_body: 1KiB, compare: {}"})
	c := &http.Client{Timeout: 10 * time.Second}
	send(t, c, "GET", tt.URL+"/items/1", "")
	send(t, c, "HEAD", tt.URL+"/items/1", "")
	small, large := strings.Repeat("s", 1024), strings.Repeat("L", 4096)
	send(t, c, "PUT", tt.URL+"/items/2", small)
	send(t, c, "PUT", tt.URL+"/items/3", large)
	// A chunked body of unknown length over max_body.
	req := testutil.NewRequest(t, "PUT", tt.URL+"/items/4")
	req.Body = io.NopCloser(strings.NewReader(large))
	req.ContentLength = -1
	resp, err := c.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("chunked PUT: %v %v", resp, err)
	}
	resp.Body.Close()
	rep := settled(t, tt, "items", 3)
	if rep.Match != 3 || rep.Error != 0 || rep.TooLarge != 2 {
		t.Errorf("report = %+v", rep)
	}
	copies := v2.requests(true)
	var got []string
	for _, s := range copies {
		got = append(got, fmt.Sprintf("%s %s %d", s.Method, s.Path, len(s.Body)))
	}
	slices.Sort(got)
	if strings.Join(got, ", ") != "GET /items/1 0, HEAD /items/1 0, PUT /items/2 1024" {
		t.Errorf("copies: %v", got)
	}
	var primary []string
	for _, s := range v1.requests(false) {
		primary = append(primary, fmt.Sprintf("%s %d", s.Path, len(s.Body)))
	}
	slices.Sort(primary)
	if strings.Join(primary, ", ") != "/items/1 0, /items/1 0, /items/2 1024, /items/3 4096, /items/4 4096" {
		t.Errorf("primary got %v", primary)
	}
}

// TestMirrorSlowTargetIsolated: a service whose mirror target hangs
// occupies only its share of the workers; another service's copies are
// still compared meanwhile.
func TestMirrorSlowTargetIsolated(t *testing.T) {
	v1 := newRecorder(t, func(r *http.Request) string { return `{"ok":true}` })
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(hang.Close)
	t.Cleanup(func() { close(release) })
	text := strings.Replace(twoServicesYAML, "  b:\n    match: { path_prefix: /b }\n    default: v1\n    versions: { v1: { upstream: v1 }, v2: { upstream: v2 } }\n",
		"  b:\n    match: { path_prefix: /b }\n    default: v1\n    versions: { v1: { upstream: v1 }, v3: { upstream: v1 } }\n    mirror: { to: v3, compare: {} }\n", 1)
	tt := testutil.Start(t, text, map[string]string{"V1": v1.URL, "V2": hang.URL})
	c := &http.Client{Timeout: 10 * time.Second}
	for range 100 {
		send(t, c, "GET", tt.URL+"/a/x", "")
	}
	for range 10 {
		send(t, c, "GET", tt.URL+"/b/x", "")
	}
	rep := settled(t, tt, "b", 10) // long before the hanging copies time out (10s)
	if rep.Match != 10 {
		t.Errorf("b: %+v", rep)
	}
	if _, a := report(t, tt, "a"); a.Compared+a.Error != 0 {
		t.Errorf("a: %d outcomes from a target that hangs", a.Compared+a.Error)
	}
}
