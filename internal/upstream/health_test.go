package upstream

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/testutil/wait"
)

// toggleServer answers /healthz with 200 or 500 as ok says and counts the
// other requests.
func toggleServer(t *testing.T) (*httptest.Server, *atomic.Bool, *atomic.Int64) {
	t.Helper()
	var ok atomic.Bool
	var n atomic.Int64
	ok.Store(true)
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/base/healthz" {
			if !ok.Load() {
				w.WriteHeader(http.StatusInternalServerError)
			}
			return
		}
		n.Add(1)
	}))
	t.Cleanup(s.Close)
	return s, &ok, &n
}

func TestHealthChecksTakeTargetsOutAndBack(t *testing.T) {
	a, _, na := toggleServer(t)
	b, okB, nb := toggleServer(t)
	spec := upstreamSpec("", a.URL+"/base", b.URL+"/base")
	spec.Health = &config.Health{Path: "/healthz", Interval: config.Duration(5 * time.Millisecond)}
	p := mustPool(t, spec)
	if st := p.Status(); !st[0].Healthy || !st[1].Healthy {
		t.Fatalf("health must start healthy: %+v", st)
	}
	p.Start()
	p.Start() // idempotent
	eventually(t, 5*time.Second, "first checks", func() bool {
		st := p.Status()
		return !st[0].LastCheck.IsZero() && !st[1].LastCheck.IsZero()
	})

	okB.Store(false)
	eventually(t, 5*time.Second, "b unhealthy", func() bool { return !p.Status()[1].Healthy })
	if st := p.Status()[1]; st.LastError == "" || st.Ejected {
		t.Errorf("unhealthy status %+v", st)
	}
	before := nb.Load()
	for range 10 {
		mustGet(t, p, "/x")
	}
	if got := nb.Load() - before; got != 0 {
		t.Errorf("unhealthy target got %d requests", got)
	}

	okB.Store(true)
	eventually(t, 5*time.Second, "b healthy", func() bool { return p.Status()[1].Healthy })
	na.Store(0)
	nb.Store(0)
	for range 10 {
		mustGet(t, p, "/x")
	}
	if na.Load() != 5 || nb.Load() != 5 {
		t.Errorf("after recovery spread %d/%d, want 5/5", na.Load(), nb.Load())
	}
}

func TestOneFailedCheckKeepsTargetHealthy(t *testing.T) {
	a, okA, _ := toggleServer(t)
	spec := upstreamSpec("", a.URL+"/base")
	spec.Health = &config.Health{Path: "/healthz"}
	p := mustPool(t, spec)
	okA.Store(false)
	p.checkAll(t.Context())
	if st := p.Status()[0]; !st.Healthy || st.LastError == "" {
		t.Fatalf("after one failed check: %+v, want still healthy", st)
	}
	p.checkAll(t.Context())
	if st := p.Status()[0]; st.Healthy {
		t.Fatalf("after two failed checks: %+v, want unhealthy", st)
	}
	okA.Store(true)
	p.checkAll(t.Context())
	if st := p.Status()[0]; !st.Healthy {
		t.Fatalf("after a passing check: %+v, want healthy", st)
	}
}

func TestHealthSpecDefaultsAndURL(t *testing.T) {
	hs, err := newHealthSpec(&config.Health{Path: "/ready?full=1"})
	if err != nil {
		t.Fatal(err)
	}
	if hs.interval != defaultHealthInterval || hs.timeout != config.DefaultHealthTimeout {
		t.Errorf("defaults: interval %v timeout %v", hs.interval, hs.timeout)
	}
	tg, err := parseTarget("http://h:1/base/", config.ProtocolHTTP1)
	if err != nil {
		t.Fatal(err)
	}
	if got := hs.url(tg); got != "http://h:1/base/ready?full=1" {
		t.Errorf("health url %s", got)
	}
}

func TestCloseStopsHealthChecks(t *testing.T) {
	var checks atomic.Int64
	s := h2cServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { checks.Add(1) }))
	base := runtime.NumGoroutine()

	spec := upstreamSpec(config.ProtocolH2C, s.URL)
	spec.Health = &config.Health{Path: "/healthz", Interval: config.Duration(2 * time.Millisecond)}
	p, err := New(spec, WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	p.Start()
	eventually(t, 5*time.Second, "a few checks", func() bool { return checks.Load() >= 3 })
	p.Close()
	p.Close() // idempotent
	p.Start() // no restart after Close

	// Back to the baseline, no checker goroutine is left (nor one restarted
	// by Start) and no check is in flight: none can land after Close.
	wait.ForErr(t, 5*time.Second, "the checker's goroutines to end", func() error {
		if n := runtime.NumGoroutine(); n > base {
			buf := make([]byte, 1<<20)
			return fmt.Errorf("goroutines %d > baseline %d after Close:\n%s", n, base, buf[:runtime.Stack(buf, true)])
		}
		return nil
	})
}
