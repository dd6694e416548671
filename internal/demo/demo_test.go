package demo

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/testutil"
	"github.com/turnout-gw/turnout/internal/testutil/wait"
)

const (
	v1Body = `{"id":"1","name":"Ada Lovelace","email":"ada@example.com"}`
	v2Body = `{"id":"1","name":{"first":"Ada","last":"Lovelace"},"contact":{"email":"ada@example.com"},"version":2}`
)

// startDemo starts a demo on free loopback ports; it is stopped by cleanup.
func startDemo(t *testing.T, ctx context.Context, o Options) *Demo {
	t.Helper()
	o.Listen, o.Admin = "127.0.0.1:0", "127.0.0.1:0"
	o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		o.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	d, err := Start(ctx, o)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := d.Stop(sctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return d
}

type answer struct {
	status int
	header http.Header
	body   string
}

var client = &http.Client{Timeout: 5 * time.Second}

func send(t *testing.T, url string, headers ...string) answer {
	t.Helper()
	resp, err := client.Do(testutil.NewRequest(t, http.MethodGet, url, headers...))
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", url, err)
	}
	return answer{resp.StatusCode, resp.Header, strings.TrimSpace(string(b))}
}

// eventually is wait.For, the shared bounded wait.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	wait.For(t, timeout, what, cond)
}

// TestBannerExamples sends every request the banner advertises and checks
// it shows what the banner says.
func TestBannerExamples(t *testing.T) {
	d := startDemo(t, t.Context(), Options{})
	banner := d.Banner()
	for _, want := range []string{d.URL, d.AdminURL + "/", d.V1URL, d.V2URL, "Ctrl-C"} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, banner)
		}
	}
	seen := map[string]bool{}
	for _, ex := range d.Examples() {
		seen[ex.Name] = true
		if !strings.Contains(banner, ex.Curl) {
			t.Errorf("banner lacks the %s command %q", ex.Name, ex.Curl)
		}
		t.Run(ex.Name, func(t *testing.T) {
			a := send(t, d.URL+ex.Path, ex.Headers...)
			served := a.header.Get("X-Served-Version")
			switch ex.Name {
			case "deprecated":
				if a.status != 200 || served != "v1" || a.body != v1Body {
					t.Fatalf("got %d %s %s; want 200 v1 %s", a.status, served, a.body, v1Body)
				}
				if a.header.Get("Deprecation") == "" || a.header.Get("Sunset") != "Wed, 30 Jun 2027 00:00:00 GMT" ||
					a.header.Get("Link") != `</v2/users/1>; rel="successor-version"` {
					t.Fatalf("lifecycle headers: Deprecation=%q Sunset=%q Link=%q", a.header.Get("Deprecation"),
						a.header.Get("Sunset"), a.header.Get("Link"))
				}
			case "pin-header", "pin-accept", "pin-path", "rule":
				if a.status != 200 || served != "v2" || a.body != v2Body || a.header.Get("X-Sample-Version") != "v2" {
					t.Fatalf("got %d %s %s; want 200 v2 %s", a.status, served, a.body, v2Body)
				}
				if a.header.Get("Deprecation") != "" {
					t.Errorf("v2 answer carries Deprecation %q", a.header.Get("Deprecation"))
				}
			case "not-acceptable":
				var body struct {
					Versions []string `json:"versions"`
				}
				if a.status != http.StatusNotAcceptable || json.Unmarshal([]byte(a.body), &body) != nil ||
					strings.Join(body.Versions, ",") != "v1,v2" {
					t.Fatalf("got %d %s; want 406 listing v1 and v2", a.status, a.body)
				}
			case "sticky":
				for _, u := range StickyUsers {
					first := ""
					for i := range 3 {
						a := send(t, d.URL+ex.Path, "X-User-ID: "+u)
						v := a.header.Get("X-Served-Version")
						if a.status != 200 || (v != "v1" && v != "v2") {
							t.Fatalf("user %s: got %d %q", u, a.status, v)
						}
						if i == 0 {
							first = v
						} else if v != first {
							t.Fatalf("user %s got %s, then %s: not sticky", u, first, v)
						}
					}
				}
			default:
				t.Fatalf("example %q is not checked by this test", ex.Name)
			}
		})
	}
	for _, name := range []string{"deprecated", "pin-header", "pin-accept", "pin-path", "not-acceptable", "rule", "sticky"} {
		if !seen[name] {
			t.Errorf("banner has no %s example", name)
		}
	}
}

// TestBannerCommandsRunInShell pastes the banner's commands into sh when
// curl is installed, as a newcomer would.
func TestBannerCommandsRunInShell(t *testing.T) {
	d := startDemo(t, t.Context(), Options{})
	if _, err := exec.LookPath("curl"); err != nil {
		t.Logf("curl is not installed; the commands were checked through net/http only")
		return
	}
	for _, ex := range d.Examples() {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		out, err := exec.CommandContext(ctx, "sh", "-c", ex.Curl).CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("%s: %v\n%s\n%s", ex.Name, err, ex.Curl, out)
		}
		got := string(out)
		want := map[string][]string{
			"deprecated":     {"200 OK", "Deprecation:", "Sunset:", `rel="successor-version"`, v1Body},
			"pin-header":     {v2Body},
			"pin-accept":     {v2Body},
			"pin-path":       {v2Body},
			"not-acceptable": {"406 Not Acceptable", `"versions":["v1","v2"]`},
			"rule":           {v2Body},
		}[ex.Name]
		if ex.Name == "sticky" {
			for _, u := range StickyUsers {
				if !strings.Contains(got, u+": v1 v1 v1\n") && !strings.Contains(got, u+": v2 v2 v2\n") {
					t.Errorf("sticky: no stable line for %s in:\n%s", u, got)
				}
			}
		}
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: output lacks %q:\n%s", ex.Name, w, got)
			}
		}
	}
}

// TestLoadGenerator checks that the load reaches both versions and stops
// when the context is cancelled.
func TestLoadGenerator(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	d := startDemo(t, ctx, Options{Load: true, Rate: 100})
	eventually(t, 15*time.Second, "load on both versions", func() bool {
		return d.V1.Requests.Load() >= 5 && d.V2.Requests.Load() >= 5
	})
	cancel()
	select {
	case <-d.LoadDone():
	case <-time.After(5 * time.Second):
		t.Fatal("the load generator did not stop within 5s of cancellation")
	}
	count := func() int64 { return d.V1.Requests.Load() + d.V2.Requests.Load() }
	// The generator sends one request at a time: the one cancelled when it
	// stopped may still be on its way through the gateway, no other. A
	// request of our own, answered after the stop, is the window: by its
	// answer the upstreams count it and at most that one more.
	last := count()
	// The gateway still serves: only the load stopped.
	if a := send(t, d.URL+"/users/1", "X-API-Version: 2"); a.status != 200 {
		t.Fatalf("after the load stopped: %d", a.status)
	}
	if after := count(); after < last+1 || after > last+2 {
		t.Fatalf("requests went on after the load stopped: %d, then %d after one request of ours", last, after)
	}
}

func TestNoLoad(t *testing.T) {
	d := startDemo(t, t.Context(), Options{Load: false})
	select {
	case <-d.LoadDone():
	default:
		t.Fatal("LoadDone is open without load")
	}
	if n := d.V1.Requests.Load() + d.V2.Requests.Load(); n != 0 {
		t.Fatalf("%d requests without load", n)
	}
}

// TestFailAfter checks that v2 answers 500 once FailAfter has passed, and
// that unpinned requests to v2 fall back to v1.
func TestFailAfter(t *testing.T) {
	d := startDemo(t, t.Context(), Options{FailAfter: 200 * time.Millisecond})
	a := send(t, d.URL+"/users/1", "X-API-Version: 2")
	if !d.V2.Failing.Load() && a.status != 200 { // still not failing after the answer
		t.Fatalf("before FailAfter: pinned v2 = %d %s; want 200", a.status, a.body)
	}
	eventually(t, 10*time.Second, "v2 to answer 500", func() bool {
		return send(t, d.URL+"/users/1", "X-API-Version: 2").status == http.StatusInternalServerError
	})
	if !d.V2.Failing.Load() {
		t.Fatal("v2 answered 500 without its switch to failing")
	}
	if a := send(t, d.V2URL+"/users/1"); a.status != 500 || !strings.Contains(a.body, "failing on purpose") {
		t.Fatalf("v2 sample directly = %d %s", a.status, a.body)
	}
	if a := send(t, d.V2URL+"/healthz"); a.status != 200 {
		t.Fatalf("v2 health = %d; want 200", a.status)
	}
	// The rule sends this to v2; fallback retries it on v1.
	if a := send(t, d.URL+"/users/1", "X-Env: canary"); a.status != 200 || a.body != v1Body {
		t.Fatalf("unpinned canary request = %d %s; want the v1 answer by fallback", a.status, a.body)
	}
	if a := send(t, d.URL+"/users/1", "X-API-Version: 1"); a.status != 200 || a.body != v1Body {
		t.Fatalf("v1 = %d %s", a.status, a.body)
	}
}

func TestConfig(t *testing.T) {
	cfg, err := Config("127.0.0.1:1234", "127.0.0.1:1235", "http://127.0.0.1:1", "http://127.0.0.1:2")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:1234" || cfg.Admin.Listen != "127.0.0.1:1235" || cfg.State != "memory" {
		t.Fatalf("listen %s admin %s state %s", cfg.Listen, cfg.Admin.Listen, cfg.State)
	}
	if got := cfg.Upstreams["users-v1"].Targets; len(got) != 1 || got[0] != "http://127.0.0.1:1" {
		t.Fatalf("users-v1 targets %v", got)
	}
	if got := cfg.Upstreams["users-v2"].Targets; len(got) != 1 || got[0] != "http://127.0.0.1:2" {
		t.Fatalf("users-v2 targets %v", got)
	}
	s := cfg.Services["users"]
	if s == nil || s.Rollout == nil || s.Rollout.Weight != 10 || !s.Fallback || len(s.Versions) != 2 {
		t.Fatalf("users service: %+v", s)
	}
}

func TestPickAddr(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	busy := ln.Addr().String()
	if got := pickAddr("", busy); got != "127.0.0.1:0" {
		t.Errorf("busy default: %s; want 127.0.0.1:0", got)
	}
	if got := pickAddr(busy, DefaultListen); got != busy {
		t.Errorf("explicit: %s; want %s", got, busy)
	}
	ln.Close()
	if got := pickAddr("", busy); got != busy {
		t.Errorf("free default: %s; want %s", got, busy)
	}
}

// TestStartBusyExplicitAddress checks that an address asked for explicitly
// must be had, and that a failed start leaves nothing running.
func TestStartBusyExplicitAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	d, err := Start(t.Context(), Options{Listen: ln.Addr().String(), Admin: "127.0.0.1:0", Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err == nil {
		_ = d.Stop(context.Background())
		t.Fatal("start on a busy address succeeded")
	}
	if !strings.Contains(err.Error(), ln.Addr().String()) {
		t.Fatalf("error %q does not name the busy address", err)
	}
}
