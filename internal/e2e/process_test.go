package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/testutil/wait"
)

var binary string

// TestMain builds the turnout binary once; every test runs it as a real
// process.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "turnout-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "turnout")
	build := exec.Command("go", "build", "-race", "-o", binary, "github.com/turnout-gw/turnout/cmd/turnout")
	if os.Getenv("TURNOUT_E2E_NORACE") != "" {
		build = exec.Command("go", "build", "-o", binary, "github.com/turnout-gw/turnout/cmd/turnout")
	}
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building turnout:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running turnout serve.
type proc struct {
	cmd      *exec.Cmd
	URL      string
	AdminURL string
	mu       sync.Mutex
	log      bytes.Buffer
	exited   chan struct{}
}

var servingRE = regexp.MustCompile(`msg="turnout serving" data=(\S+) admin=(\S+)`)

// startProc runs `turnout serve -c path` with env added, waits for it to
// report its addresses, and kills it at cleanup.
func startProc(t *testing.T, path string, env ...string) *proc {
	t.Helper()
	p := launchProc(t, []string{"serve", "-c", path}, env...)
	m := p.waitLog(t, servingRE, 30*time.Second)
	p.URL, p.AdminURL = "http://"+m[1], "http://"+m[2]
	return p
}

// launchProc runs turnout with args and env added, collecting its stderr,
// and kills it at cleanup.
func launchProc(t *testing.T, args []string, env ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(binary, args...), exited: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), env...)
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.log.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
		}
		p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() { p.kill() })
	return p
}

// waitLog waits until a line of the process's log matches re and returns
// the match; the process exiting first or timeout fails the test.
func (p *proc) waitLog(t *testing.T, re *regexp.Regexp, timeout time.Duration) []string {
	t.Helper()
	var m []string
	err := wait.Poll(timeout, func() error {
		exited := false
		select {
		case <-p.exited:
			exited = true
		default:
		}
		if m = re.FindStringSubmatch(p.logs()); m != nil {
			return nil
		}
		if exited {
			t.Fatalf("turnout exited before logging %q:\n%s", re, p.logs())
		}
		return fmt.Errorf("no line matches %q", re)
	})
	if err != nil {
		t.Fatalf("turnout did not log %q: %v\n%s", re, err, p.logs())
	}
	return m
}

func (p *proc) logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill() {
	if p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
	}
}

// rolloutStatus is the part of GET /api/v1/rollouts/{service} tests read.
type rolloutStatus struct {
	State  string  `json:"state"`
	Weight float64 `json:"weight"`
	Step   int     `json:"step"`
	Reason string  `json:"reason"`
}

func (p *proc) status(t *testing.T, service string) rolloutStatus {
	t.Helper()
	var s rolloutStatus
	resp, err := http.Get(p.AdminURL + "/api/v1/rollouts/" + service)
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// waitStatus polls until cond holds; it returns the time it took, for the
// log only.
func (p *proc) waitStatus(t *testing.T, service string, timeout time.Duration, what string, cond func(rolloutStatus) bool) time.Duration {
	t.Helper()
	start := time.Now()
	var last rolloutStatus
	err := wait.Poll(timeout, func() error {
		if last = p.status(t, service); !cond(last) {
			return fmt.Errorf("last status %+v", last)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("waiting for %s: %v\n%s", what, err, p.logs())
	}
	return time.Since(start)
}

// load sends unpinned requests with distinct user keys from a few workers
// until ctx ends, and counts answers by X-Served-Version and by status,
// and requests that got no answer before ctx ended.
type load struct {
	mu      sync.Mutex
	served  map[string]int
	status  map[int]int
	errs    int    // requests without an answer, ctx's end excluded
	lastErr string // the last of them
	wg      sync.WaitGroup
}

func startLoad(ctx context.Context, url string, workers int) *load {
	l := &load{served: map[string]int{}, status: map[int]int{}}
	c := &http.Client{Timeout: 10 * time.Second}
	for w := 0; w < workers; w++ {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for i := 0; i < 1_000_000 && ctx.Err() == nil; i++ {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/users/1", nil)
				req.Header.Set("X-User-ID", fmt.Sprintf("w%d-u%d", w, i))
				resp, err := c.Do(req)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				l.mu.Lock()
				switch {
				case err == nil:
					l.served[resp.Header.Get("X-Served-Version")]++
					l.status[resp.StatusCode]++
				case ctx.Err() == nil:
					l.errs++
					l.lastErr = err.Error()
				}
				l.mu.Unlock()
				// The pace, also after a failure (a refused connection is
				// instant: a member killed would otherwise be hammered).
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	return l
}

// failed is how many requests so far had no answer or an answer other
// than 200, and what they were.
func (l *load) failed() (int, string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := l.errs
	for code, c := range l.status {
		if code != http.StatusOK {
			n += c
		}
	}
	return n, fmt.Sprintf("statuses %v, %d without an answer (last: %q)", l.status, l.errs, l.lastErr)
}

func writeConfig(t *testing.T, dir, text string, vars map[string]string) string {
	t.Helper()
	for k, v := range vars {
		text = strings.ReplaceAll(text, "{{"+k+"}}", v)
	}
	path := filepath.Join(dir, "turnout.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
