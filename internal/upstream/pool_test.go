package upstream

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
)

func TestRoundRobinIsEven(t *testing.T) {
	a, na := countingServer(t, "a")
	b, nb := countingServer(t, "b")
	c, nc := countingServer(t, "c")
	p := mustPool(t, upstreamSpec("", a.URL, b.URL, c.URL))
	for range 300 {
		mustGet(t, p, "/x")
	}
	for i, n := range []*atomic.Int64{na, nb, nc} {
		if got := n.Load(); got != 100 {
			t.Errorf("server %d got %d requests, want 100", i, got)
		}
	}
}

func TestRoundTripRewritesURLOnly(t *testing.T) {
	var gotPath, gotRaw, gotHost, gotQuery string
	s := h2cServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath, gotRaw, gotHost, gotQuery = r.URL.Path, r.URL.RawPath, r.Host, r.URL.RawQuery
	}))
	p := mustPool(t, upstreamSpec("", s.URL+"/base/"))
	req := newReq(t, http.MethodGet, "/users/a%2Fb?x=1")
	req.Host = "api.example.com"
	if _, _, err := send(p, req); err != nil {
		t.Fatal(err)
	}
	if gotPath != "/base/users/a/b" || gotRaw != "/base/users/a%2Fb" || gotQuery != "x=1" {
		t.Errorf("upstream saw path %q raw %q query %q", gotPath, gotRaw, gotQuery)
	}
	if gotHost != "api.example.com" {
		t.Errorf("upstream saw Host %q, want the caller's", gotHost)
	}
	if req.URL.Host != strings.TrimPrefix(s.URL, "http://") || req.Host != "api.example.com" {
		t.Errorf("req.URL.Host %q req.Host %q", req.URL.Host, req.Host)
	}
}

func TestTargetApply(t *testing.T) {
	tests := []struct{ target, path, want string }{
		{"http://h", "/users", "http://h/users"},
		{"http://h/", "/users", "http://h/users"},
		{"http://h/base", "/users", "http://h/base/users"},
		{"http://h/base/", "/users", "http://h/base/users"},
		{"http://h/base", "/", "http://h/base/"},
		{"http://h/base", "", "http://h/base"},
		{"https://h:8443/a%2Fb", "/c%20d", "https://h:8443/a%2Fb/c%20d"},
	}
	for _, tc := range tests {
		tg, err := parseTarget(tc.target, config.ProtocolHTTP1)
		if err != nil {
			t.Fatalf("%s: %v", tc.target, err)
		}
		u, err := url.Parse("http://x" + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		tg.apply(u)
		if got := u.String(); got != tc.want {
			t.Errorf("%s + %q = %s, want %s", tc.target, tc.path, got, tc.want)
		}
	}
}

func TestNewRejectsBadSpecs(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		spec *config.Upstream
		want string
	}{
		{"tcp", upstreamSpec("", "tcp://127.0.0.1:5432"), `target "tcp://127.0.0.1:5432": tcp targets`},
		{"scheme", upstreamSpec("", "ftp://h"), `target "ftp://h": unsupported scheme`},
		{"no host", upstreamSpec("", "http:///x"), `target "http:///x": missing host`},
		{"user", upstreamSpec("", "http://u:p@h"), `target "http://u:p@h": user info`},
		{"query", upstreamSpec("", "http://h/?a=1"), `target "http://h/?a=1": query`},
		{"port", upstreamSpec("", "http://h:99999"), `target "http://h:99999": invalid port`},
		{"dup", upstreamSpec("", "http://h", "http://h"), `duplicate target`},
		{"parse", upstreamSpec("", "http://h/%zz"), `target "http://h/%zz"`},
		{"h2c https", upstreamSpec("h2c", "https://h"), `needs an http target`},
		{"h2 http", upstreamSpec("h2", "http://h"), `needs an https target`},
		{"protocol", upstreamSpec("spdy", "http://h"), `unknown protocol "spdy"`},
		{"empty", upstreamSpec(""), `no targets`},
		{"ca", &config.Upstream{Name: "test", Targets: []string{"https://h"},
			TLS: &config.UpstreamTLS{CA: dir + "/missing.pem"}}, `read tls ca`},
		{"health", &config.Upstream{Name: "test", Targets: []string{"http://h"},
			Health: &config.Health{Path: "healthz"}}, `health path "healthz"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.spec, WithLogger(quiet))
			if err == nil {
				t.Fatal("New succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), `upstream "test": `) {
				t.Errorf("error %q, want it to name the pool and contain %q", err, tc.want)
			}
		})
	}
	if _, err := New(upstreamSpec("", "http://h"), WithClock(nil)); err == nil {
		t.Error("WithClock(nil) accepted")
	}
}

func TestEjectionWithoutHealthChecks(t *testing.T) {
	good, ngood := countingServer(t, "good")
	dead := "http://" + deadAddr(t)
	clock := newFakeClock()
	spec := upstreamSpec("", good.URL, dead)
	spec.EjectAfter = 2
	spec.EjectFor = config.Duration(30 * time.Second)
	p := mustPool(t, spec, WithClock(clock.Now))

	failures := 0
	for i := 0; i < 10 && !statusOf(t, p, dead).Ejected; i++ {
		if _, _, err := send(p, newReq(t, http.MethodGet, "/")); err != nil {
			if !IsConnectError(err) || !strings.Contains(err.Error(), dead) {
				t.Fatalf("error %v: want a connect error naming %s", err, dead)
			}
			failures++
		}
	}
	st := statusOf(t, p, dead)
	if !st.Ejected || failures != 2 || st.ConsecutiveFailures != 2 || st.LastError == "" {
		t.Fatalf("after %d failures status %+v, want ejected after 2", failures, st)
	}
	before := ngood.Load()
	for range 20 {
		mustGet(t, p, "/")
	}
	if got := ngood.Load() - before; got != 20 {
		t.Errorf("good target got %d of 20 requests while the other was ejected", got)
	}

	clock.Advance(29 * time.Second)
	mustGet(t, p, "/")
	if !statusOf(t, p, dead).Ejected {
		t.Fatal("target returned before eject_for elapsed")
	}
	clock.Advance(time.Second)
	if st := statusOf(t, p, dead); st.Ejected || st.ConsecutiveFailures != 0 {
		t.Fatalf("after eject_for: %+v, want back in rotation", st)
	}
	errs := 0
	for range 2 {
		if _, _, err := send(p, newReq(t, http.MethodGet, "/")); err != nil {
			errs++
		}
	}
	if errs != 1 {
		t.Errorf("%d of 2 requests failed after un-ejection, want 1 (the dead target is back in rotation)", errs)
	}
}

func TestEjectedTargetReturnsOnlyAfterHealthCheck(t *testing.T) {
	good, _ := countingServer(t, "good")
	addr := deadAddr(t)
	dead := "http://" + addr
	clock := newFakeClock()
	spec := upstreamSpec("", good.URL, dead)
	spec.EjectAfter = 1
	spec.Health = &config.Health{Path: "/healthz", Interval: config.Duration(time.Hour)}
	p := mustPool(t, spec, WithClock(clock.Now)) // not started: checks are driven by hand

	for i := 0; i < 4 && !statusOf(t, p, dead).Ejected; i++ {
		_, _, _ = send(p, newReq(t, http.MethodGet, "/"))
	}
	if !statusOf(t, p, dead).Ejected {
		t.Fatal("dead target not ejected")
	}
	clock.Advance(time.Hour)
	if !statusOf(t, p, dead).Ejected {
		t.Fatal("with health checks, eject_for must not bring the target back")
	}

	// The target comes back on the same port.
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("cannot listen again on %s: %v", addr, err)
	}
	var revived atomic.Int64
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			revived.Add(1)
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	if !statusOf(t, p, dead).Ejected {
		t.Fatal("target returned without a health check")
	}
	p.checkAll(context.Background())
	st := statusOf(t, p, dead)
	if st.Ejected || !st.Healthy || st.LastCheck.IsZero() {
		t.Fatalf("after a passing check: %+v", st)
	}
	for range 4 {
		mustGet(t, p, "/")
	}
	if got := revived.Load(); got != 2 {
		t.Errorf("revived target got %d of 4 requests, want 2", got)
	}
}

func TestPanicModeWhenAllTargetsOut(t *testing.T) {
	var na, nb atomic.Int64
	handler := func(n *atomic.Int64) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/healthz" {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			n.Add(1)
		}
	}
	a := h2cServer(t, handler(&na))
	b := h2cServer(t, handler(&nb))
	spec := upstreamSpec("", a.URL, b.URL)
	spec.Health = &config.Health{Path: "/healthz", Interval: config.Duration(5 * time.Millisecond)}
	p := mustPool(t, spec)
	p.Start()
	eventually(t, 5*time.Second, "both targets unhealthy", func() bool {
		st := p.Status()
		return !st[0].Healthy && !st[1].Healthy
	})
	for range 10 {
		mustGet(t, p, "/work")
	}
	if na.Load() != 5 || nb.Load() != 5 {
		t.Errorf("panic mode spread %d/%d, want 5/5", na.Load(), nb.Load())
	}
}

func TestPickDoesNotAllocate(t *testing.T) {
	p := mustPool(t, upstreamSpec("", "http://127.0.0.1:1", "http://127.0.0.1:2"))
	req := newReq(t, http.MethodGet, "/")
	req.Header.Set("Content-Type", "application/json")
	allocs := testing.AllocsPerRun(1000, func() {
		tg, _ := p.pick()
		tg.apply(req.URL)
		_ = p.tr.pick(req)
	})
	if allocs != 0 {
		t.Errorf("target selection allocates %v times per request", allocs)
	}
}
