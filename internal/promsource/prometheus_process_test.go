package promsource_test

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/testutil/syncbuf"
	"github.com/turnout-gw/turnout/internal/testutil/wait"
)

// promServer is a real Prometheus server (Debian's prometheus package) run
// as a child process for one test.
type promServer struct {
	URL string
	log *syncbuf.Buffer
}

var listeningRE = regexp.MustCompile(`msg="Listening on" address=(127\.0\.0\.1:\d+)`)

// startPrometheus runs prometheus on 127.0.0.1:0 with its storage in a temp
// directory, scraping target (host:port) every second, and waits until it
// is ready. The binary must be installed: scripts/test.sh installs it, and
// without it the test fails. The process is killed at cleanup (and with the
// test process, should that die first).
func startPrometheus(t *testing.T, target string) *promServer {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatalf("the prometheus binary is needed (Debian: apt-get install prometheus; scripts/test.sh installs it): %v", err)
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "prometheus.yml")
	text := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: envoy
    static_configs:
      - targets: ['%s']
`, target)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config.file="+conf, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address=127.0.0.1:0", "--log.level=info")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &promServer{log: &syncbuf.Buffer{}}
	exited := make(chan struct{})
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("prometheus log:\n%s", p.log.String())
		}
	})
	addr := make(chan string, 1)
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			fmt.Fprintln(p.log, sc.Text())
			if m := listeningRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		_ = cmd.Wait()
	}()
	select {
	case a := <-addr:
		p.URL = "http://" + a
	case <-exited:
		t.Fatalf("prometheus exited before listening:\n%s", p.log.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("prometheus did not report its address within 30s:\n%s", p.log.String())
	}
	err = wait.Poll(30*time.Second, func() error {
		resp, err := http.Get(p.URL + "/-/ready")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("prometheus not ready: %v\n%s", err, p.log.String())
	}
	return p
}
