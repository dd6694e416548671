package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/testutil/wait"
)

const upgradeYAML = `
listen: {{LISTEN}}
admin: { listen: {{ADMIN}} }
state: {{STATE}}
limits: { shutdown_grace: 20s }
upstreams:
  v1: { targets: [{{UP}}] }
  v2: { targets: [{{UP}}] }
services:
  users:
    match: { path_prefix: /users }
    default: v1
    versions:
      v1: { upstream: v1 }
      v2: { upstream: v2 }
    rollout: { from: v1, to: v2, weight: 10, sticky: header:X-User-ID }
`

var (
	waitingRE  = regexp.MustCompile(`state store locked by another turnout`)
	releasedRE = regexp.MustCompile(`msg="state store released`)
	toldRE     = regexp.MustCompile(`msg="takeover: told the old turnout to drain \(SIGTERM\)" pid=(\d+)`)
)

// TestProcessUpgradeUnderLoad replaces a running turnout (state in a file)
// by `turnout serve --takeover` on the same ports while four keep-alive
// clients (two HTTP/1.1, two h2c) keep sending requests: B binds the ports
// beside A, finds the state file locked and sends A SIGTERM itself; A stops
// accepting and hands over the file; B serves new requests with the
// rollout state A left while A still finishes a slow POST (held by the
// upstream until B has served 200 requests; a POST is never retried by the
// client), then A exits 0. Not one request may fail.
func TestProcessUpgradeUnderLoad(t *testing.T) { upgradeUnderLoad(t, "./turnout.db") }

// TestProcessUpgradeUnderLoadMemory is the same takeover with state:
// memory: B serves beside A first and sends A SIGTERM once it serves.
func TestProcessUpgradeUnderLoadMemory(t *testing.T) { upgradeUnderLoad(t, "memory") }

func upgradeUnderLoad(t *testing.T, state string) {
	release, arrived := make(chan struct{}), make(chan struct{}, 1)
	var releaseOnce sync.Once
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/slow") {
			arrived <- struct{}{}
			select {
			case <-release:
			case <-time.After(30 * time.Second):
			}
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"version":"`+r.Header.Get("X-Turnout-Version")+`"}`)
	}))
	defer up.Close()
	defer releaseOnce.Do(func() { close(release) }) // before up.Close
	dir := t.TempDir()
	vars := map[string]string{"LISTEN": "127.0.0.1:0", "ADMIN": "127.0.0.1:0", "UP": up.URL, "STATE": state}
	a := startProc(t, writeConfig(t, dir, upgradeYAML, vars))
	vars["LISTEN"], vars["ADMIN"] = strings.TrimPrefix(a.URL, "http://"), strings.TrimPrefix(a.AdminURL, "http://")
	pathB := filepath.Join(dir, "turnout-b.yaml") // same directory: same ./turnout.db
	textB := upgradeYAML
	for k, v := range vars {
		textB = strings.ReplaceAll(textB, "{{"+k+"}}", v)
	}
	if err := os.WriteFile(pathB, []byte(textB), 0o644); err != nil {
		t.Fatal(err)
	}
	setWeight(t, a.AdminURL, 25)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	l := startUpgradeLoad(ctx, a.URL, 4)
	defer l.stop()
	if resp, err := l.h2c.Get(a.URL + "/users/0"); err != nil || resp.ProtoMajor != 2 {
		t.Fatalf("h2c client: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	l.waitOK(t, 200)
	slow := make(chan error, 1)
	go func() { slow <- postOK(a.URL + "/users/slow") }()
	<-arrived // the slow request is in A's hands

	b := launchProc(t, []string{"serve", "--takeover", "-c", pathB})
	if state != "memory" {
		b.waitLog(t, waitingRE, 30*time.Second)
	} else {
		b.waitLog(t, servingRE, 30*time.Second)
	}
	if m := b.waitLog(t, toldRE, 30*time.Second); m[1] != strconv.Itoa(a.cmd.Process.Pid) {
		t.Fatalf("B signalled pid %s, want A's %d:\n%s", m[1], a.cmd.Process.Pid, b.logs())
	}
	a.waitLog(t, regexp.MustCompile(`msg=draining signal=terminated`), 10*time.Second)
	a.waitLog(t, releasedRE, 10*time.Second)
	b.waitLog(t, servingRE, 30*time.Second)
	l.waitOK(t, l.ok.Load()+200) // B answers while A still drains
	select {
	case err := <-slow:
		t.Fatalf("slow request finished before the upstream answered it: %v\nA:\n%s", err, a.logs())
	case <-a.exited:
		t.Fatalf("old process exited with a request in flight:\n%s", a.logs())
	default:
	}
	releaseOnce.Do(func() { close(release) })
	if err := <-slow; err != nil {
		t.Fatalf("in-flight slow request: %v", err)
	}
	a.waitExitZero(t)
	atA := l.ok.Load()
	l.waitOK(t, atA+200) // B answers on the same address
	l.stop()

	if f := l.failures(); len(f) > 0 {
		t.Fatalf("%d of %d requests failed across the upgrade, first: %s\nA:\n%s\nB:\n%s",
			len(f), l.ok.Load()+int64(len(f)), f[0], a.logs(), b.logs())
	}
	b.AdminURL = a.AdminURL
	if s := b.status(t, "users"); state != "memory" && s.Weight != 25 {
		t.Fatalf("weight after the upgrade = %v, want the 25 set on the old process", s.Weight)
	}
	t.Logf("%d requests, 0 failed; %d before the old process exited", l.ok.Load(), atA)
}

// waitExitZero waits (at most 30 s) for a signalled process to exit 0.
func (p *proc) waitExitZero(t *testing.T) {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("still running 30s after the signal:\n%s", p.logs())
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit code %d:\n%s", code, p.logs())
	}
}

// upgradeLoad sends GETs from a few workers over keep-alive connections,
// HTTP/1.1 for even workers and h2c for odd ones, and records every request
// that did not come back 200 with a body.
type upgradeLoad struct {
	h1, h2c *http.Client
	ok      atomic.Int64
	mu      sync.Mutex
	failed  []string
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

func startUpgradeLoad(ctx context.Context, url string, workers int) *upgradeLoad {
	ctx, cancel := context.WithCancel(ctx)
	tr := &http.Transport{MaxIdleConnsPerHost: workers * 2, IdleConnTimeout: time.Minute}
	h2 := &http.Transport{IdleConnTimeout: time.Minute, Protocols: new(http.Protocols)}
	h2.Protocols.SetUnencryptedHTTP2(true)
	l := &upgradeLoad{cancel: cancel,
		h1: &http.Client{Transport: tr, Timeout: 10 * time.Second}, h2c: &http.Client{Transport: h2, Timeout: 10 * time.Second}}
	for w := range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for i := 0; i < 200_000 && ctx.Err() == nil; i++ {
				c := l.h1
				if w%2 == 1 {
					c = l.h2c
				}
				err := getOK(c, fmt.Sprintf("%s/users/%d?u=w%d-%d", url, i, w, i))
				if ctx.Err() != nil {
					return
				}
				if err != nil {
					l.mu.Lock()
					l.failed = append(l.failed, err.Error())
					l.mu.Unlock()
				} else {
					l.ok.Add(1)
				}
				time.Sleep(time.Millisecond)
			}
		}()
	}
	return l
}

func (l *upgradeLoad) stop() {
	l.cancel()
	l.wg.Wait()
	l.h1.CloseIdleConnections()
	l.h2c.CloseIdleConnections()
}

func (l *upgradeLoad) failures() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.failed...)
}

// waitOK waits until n requests have succeeded (at most 30 s).
func (l *upgradeLoad) waitOK(t *testing.T, n int64) {
	t.Helper()
	wait.ForErr(t, 30*time.Second, fmt.Sprintf("%d requests to succeed", n), func() error {
		if ok := l.ok.Load(); ok < n {
			return fmt.Errorf("only %d succeeded; failures: %q", ok, l.failures())
		}
		return nil
	})
}

// postOK is one POST on a fresh connection (so it is never retried) that
// must answer 200.
func postOK(url string) error {
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second}
	resp, err := c.Post(url, "application/json", strings.NewReader(`{"slow":true}`))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: %d %s %v", url, resp.StatusCode, body, err)
	}
	return nil
}

// getOK is one GET that must answer 200 with a version in its body.
func getOK(c *http.Client, url string) error {
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	switch {
	case err != nil:
		return fmt.Errorf("GET %s: reading body: %w", url, err)
	case resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"version":"v`):
		return fmt.Errorf("GET %s: %d %s", url, resp.StatusCode, body)
	}
	return nil
}

func setWeight(t *testing.T, adminURL string, w float64) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, adminURL+"/api/v1/rollouts/users/weight", strings.NewReader(fmt.Sprintf(`{"weight": %v}`, w)))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT weight: %d", resp.StatusCode)
	}
}

// TestProcessInterruptDrains: SIGINT, like SIGTERM, answers the request in
// flight, writes every access-log line and exits 0.
func TestProcessInterruptDrains(t *testing.T) {
	release, arrived := make(chan struct{}), make(chan struct{}, 1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/slow") {
			arrived <- struct{}{}
			<-release
		}
		io.WriteString(w, `{"version":"v1"}`)
	}))
	defer up.Close()
	defer close(release) // before up.Close
	dir := t.TempDir()
	path := writeConfig(t, dir, `
listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
log: { access: access.log }
upstreams: { v1: { targets: [`+up.URL+`] } }
services:
  users: { match: { path_prefix: /users }, default: v1, versions: { v1: { upstream: v1 } } }
`, nil)
	p := startProc(t, path)
	c := &http.Client{Timeout: 10 * time.Second}
	const n = 50
	for i := range n {
		if err := getOK(c, fmt.Sprintf("%s/users/%d", p.URL, i)); err != nil {
			t.Fatal(err)
		}
	}
	slow := make(chan error, 1)
	go func() { slow <- postOK(p.URL + "/users/slow") }()
	<-arrived
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	p.waitLog(t, regexp.MustCompile(`msg=draining signal=interrupt`), 10*time.Second)
	p.waitLog(t, releasedRE, 10*time.Second)
	select {
	case <-p.exited:
		t.Fatalf("exited with a request in flight:\n%s", p.logs())
	default:
	}
	release <- struct{}{}
	if err := <-slow; err != nil {
		t.Fatalf("in-flight request: %v\n%s", err, p.logs())
	}
	p.waitExitZero(t)
	data, err := os.ReadFile(filepath.Join(dir, "access.log"))
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(string(data), "\n"); lines != n+1 {
		t.Fatalf("access log has %d lines, want %d:\n%s", lines, n+1, data)
	}
}
