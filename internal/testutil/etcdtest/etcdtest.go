// Package etcdtest runs a real etcd server (Debian's etcd-server package,
// the `etcd` binary) as a child process for one test: a single-member
// cluster on 127.0.0.1 ports it picks, its data in the test's temporary
// directory, stopped by t.Cleanup. Tests of internal/cluster and of a
// Turnout fleet use it instead of any fake: the server is the real thing.
//
// The binary must be installed (scripts/test.sh installs etcd-server);
// without it the test fails with the command to install it, never skips.
//
// A Server can be stopped and started again on the same ports and data, so
// a test can show what a member does while etcd is unreachable and after it
// returns. Its methods are called from the test's goroutine only.
package etcdtest

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/testutil/syncbuf"
	"github.com/turnout-gw/turnout/internal/testutil/wait"
)

// readyTimeout bounds how long Start waits for etcd to answer /health.
const readyTimeout = 30 * time.Second

// stopTimeout bounds how long Stop waits after SIGTERM before SIGKILL.
const stopTimeout = 10 * time.Second

// portAttempts bounds how many pairs of ports the first start tries: a
// port found free can be taken by another process before etcd binds it.
const portAttempts = 3

// Server is one real etcd process.
type Server struct {
	// Endpoint is the client URL, http://127.0.0.1:PORT; it stays the same
	// across Stop and Start.
	Endpoint string

	t       testing.TB
	bin     string
	dir     string
	peerURL string
	log     *syncbuf.Buffer
	cmd     *exec.Cmd
	exited  chan struct{}
}

// Start runs etcd on two free 127.0.0.1 ports and returns once it answers
// its health check; it is stopped at t's cleanup and its log is printed
// if t failed.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("etcd")
	if err != nil {
		t.Fatalf("the etcd binary is needed (Debian: apt-get install etcd-server; scripts/test.sh installs it): %v", err)
	}
	s := &Server{t: t, bin: bin, dir: filepath.Join(t.TempDir(), "etcd"), log: &syncbuf.Buffer{}}
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("etcd log:\n%s", s.log.String())
		}
	})
	for attempt := 1; ; attempt++ {
		// A failed attempt may have left a member recorded with other ports.
		_ = os.RemoveAll(s.dir)
		ports := freePorts(t, 2)
		s.Endpoint = fmt.Sprintf("http://127.0.0.1:%d", ports[0])
		s.peerURL = fmt.Sprintf("http://127.0.0.1:%d", ports[1])
		err := s.run()
		if err == nil {
			return s
		}
		if attempt == portAttempts {
			t.Fatalf("etcd did not start after %d attempts: %v\n%s", attempt, err, s.log.String())
		}
	}
}

// Endpoints is Endpoint as the list a client configuration takes.
func (s *Server) Endpoints() []string { return []string{s.Endpoint} }

// Stop stops etcd gracefully (SIGTERM, then SIGKILL after a bound) and
// waits for the process to end; its data stays for Start.
func (s *Server) Stop() {
	s.t.Helper()
	if s.cmd == nil {
		s.t.Fatalf("etcdtest: Stop of a server that is not running")
	}
	s.stop()
}

// Start starts a stopped server again on the same ports and data, and
// waits until it answers.
func (s *Server) Start() {
	s.t.Helper()
	if s.cmd != nil {
		s.t.Fatalf("etcdtest: Start of a server that is running")
	}
	if err := s.run(); err != nil {
		s.t.Fatalf("etcd did not start again: %v\n%s", err, s.log.String())
	}
}

// Log is what etcd has written so far.
func (s *Server) Log() string { return s.log.String() }

// run starts the process and waits for its health check; on failure the
// process is stopped and the error returned.
func (s *Server) run() error {
	cmd := exec.Command(s.bin,
		"--name", "default",
		"--data-dir", s.dir,
		"--listen-client-urls", s.Endpoint,
		"--advertise-client-urls", s.Endpoint,
		"--listen-peer-urls", s.peerURL,
		"--initial-advertise-peer-urls", s.peerURL,
		"--initial-cluster", "default="+s.peerURL,
		"--initial-cluster-state", "new",
		"--logger", "zap",
		"--log-outputs", "stderr",
	)
	cmd.Stdout = s.log
	cmd.Stderr = s.log
	// The child dies with the test binary, should that die first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	s.cmd = cmd
	s.exited = make(chan struct{})
	go func(done chan struct{}) {
		_ = cmd.Wait()
		close(done)
	}(s.exited)
	exited := s.exited
	client := &http.Client{Timeout: time.Second}
	err := wait.Poll(readyTimeout, func() error {
		select {
		case <-exited:
			return errExited
		default:
		}
		resp, err := client.Get(s.Endpoint + "/health")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		buf := make([]byte, 256)
		n, _ := resp.Body.Read(buf)
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(buf[:n]), `"true"`) {
			return fmt.Errorf("health: %d %s", resp.StatusCode, buf[:n])
		}
		return nil
	})
	if err != nil {
		s.stop()
		return err
	}
	return nil
}

// errExited says etcd ended before it answered.
var errExited = errors.New("etcd exited")

// stop ends the process if it runs, bounded.
func (s *Server) stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(stopTimeout):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	s.cmd = nil
}

// freePorts returns n distinct ports that were free on 127.0.0.1 a moment
// ago: the listeners are held until all are chosen, then closed.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}
