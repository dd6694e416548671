package main

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
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// configText is the soak's turnout.yaml: an HTTP service with a stepped,
// analysed rollout and a mirror (also reached by WebSocket), and a gRPC
// service split 50/50. cycle changes the rollout's steps, which starts a new
// rollout; rev only changes a comment (a reload that changes nothing).
func configText(web [2]string, grpc [2]string, cycle, rev int) string {
	return fmt.Sprintf(`# soak revision %d
listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: ./soak.db
log: { level: debug }
limits: { shutdown_grace: 10s }
upstreams:
  web-v1: { targets: [http://%s] }
  web-v2: { targets: [http://%s] }
  grpc-v1: { targets: [http://%s], protocol: h2c }
  grpc-v2: { targets: [http://%s], protocol: h2c }
services:
  web:
    match: { path_prefix: /web }
    default: v1
    versions:
      v1: { upstream: web-v1 }
      v2: { upstream: web-v2 }
    rollout:
      from: v1
      to: v2
      sticky: header:X-User-ID
      steps: [%d, 25, 50, 100]
      step_interval: 4s
      analysis: { window: 4s, min_requests: 20, max_error_rate: 0.05 }
      on_failure: rollback
    mirror: { to: v2, percent: 10 }
  grpc:
    match: { path_prefix: /grpc.testing.TestService }
    default: v1
    versions:
      v1: { upstream: grpc-v1 }
      v2: { upstream: grpc-v2 }
    rollout: { from: v1, to: v2, weight: 50 }
`, rev, web[0], web[1], grpc[0], grpc[1], 5+cycle%10)
}

// writeConfig replaces path atomically (the watcher sees one change).
func writeConfig(path, text string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// turnout is the running gateway process.
type turnout struct {
	cmd      *exec.Cmd
	data     string // host:port
	admin    string
	mu       sync.Mutex
	log      bytes.Buffer
	exited   chan struct{}
	exitCode int
}

var servingRE = regexp.MustCompile(`msg="turnout serving" data=(\S+) admin=(\S+)`)

// startTurnout runs `bin serve -c path`, copying its log to logPath, and
// waits for its addresses.
func startTurnout(bin, path, logPath string) (*turnout, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	t := &turnout{cmd: exec.Command(bin, "serve", "-c", path), exited: make(chan struct{})}
	t.cmd.Env = append(os.Environ(), "TURNOUT_ADMIN_TOKEN=")
	stderr, err := t.cmd.StderrPipe()
	if err == nil {
		err = t.cmd.Start()
	}
	if err != nil {
		_ = logFile.Close()
		return nil, err
	}
	addrs := make(chan []string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			_, _ = fmt.Fprintln(logFile, sc.Text())
			t.mu.Lock()
			if t.log.Len() < 4<<20 {
				t.log.WriteString(sc.Text() + "\n")
			}
			t.mu.Unlock()
			if m := servingRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addrs <- m[1:]:
				default:
				}
			}
		}
		_ = t.cmd.Wait()
		_ = logFile.Close()
		t.exitCode = t.cmd.ProcessState.ExitCode()
		close(t.exited)
	}()
	select {
	case a := <-addrs:
		t.data, t.admin = a[0], a[1]
		return t, nil
	case <-t.exited:
		return nil, fmt.Errorf("turnout exited at start:\n%s", t.logs())
	case <-time.After(30 * time.Second):
		t.kill()
		return nil, fmt.Errorf("turnout did not start in 30s:\n%s", t.logs())
	}
}

func (t *turnout) logs() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.log.String()
}

// stop sends SIGTERM and waits for the drain (at most 30 s, then SIGKILL);
// it returns the exit code.
func (t *turnout) stop() int {
	_ = t.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-t.exited:
		return t.exitCode
	case <-time.After(30 * time.Second):
		t.kill()
		return -1
	}
}

func (t *turnout) kill() {
	_ = t.cmd.Process.Kill()
	select {
	case <-t.exited:
	case <-time.After(10 * time.Second):
	}
}

// sample is what the soak watches of the turnout process.
type sample struct {
	At         time.Duration
	RSSKiB     int64
	FDs        int
	Goroutines int
}

func (s sample) String() string {
	return fmt.Sprintf("rss %.1f MiB, goroutines %d, fds %d", float64(s.RSSKiB)/1024, s.Goroutines, s.FDs)
}

// measure reads RSS (/proc/PID/status VmRSS), open descriptors
// (/proc/PID/fd) and go_goroutines from the admin /metrics.
func (t *turnout) measure(ctx context.Context) (sample, error) {
	pid := t.cmd.Process.Pid
	var s sample
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			s.RSSKiB, _ = strconv.ParseInt(f[1], 10, 64)
		}
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return s, err
	}
	s.FDs = len(fds)
	s.Goroutines, err = t.goroutines(ctx)
	return s, err
}

func (t *turnout) goroutines(ctx context.Context) (int, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+t.admin+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, "go_goroutines "); ok {
			return strconv.Atoi(strings.TrimSpace(v))
		}
	}
	return 0, fmt.Errorf("no go_goroutines in %s/metrics", t.admin)
}

// rollout is the part of GET /api/v1/rollouts/{service} the soak follows.
type rollout struct {
	State  string  `json:"state"`
	Weight float64 `json:"weight"`
}

func (t *turnout) rollout(ctx context.Context, service string) (rollout, error) {
	var r rollout
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+t.admin+"/api/v1/rollouts/"+service, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return r, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return r, fmt.Errorf("GET rollout %s: %s", service, resp.Status)
	}
	return r, json.NewDecoder(resp.Body).Decode(&r)
}
