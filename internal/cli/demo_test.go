package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/testutil/syncbuf"
	"github.com/turnout-gw/turnout/internal/testutil/wait"
)

// demoMain runs `turnout demo` with args (flags only) until ctx is done,
// and returns the exit code the way Main does.
func demoMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd := demoCmd()
	cmd.SetArgs(args)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	cmd.SilenceUsage = true
	cmd.SilenceErrors = true
	err := cmd.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(stderr, "turnout:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "turnout:", err)
	return 1
}

func TestDemoCommand(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr syncbuf.Buffer
	done := make(chan int, 1)
	go func() {
		done <- demoMain(ctx, []string{"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--rate", "20", "--fail-after", "1h"}, &stdout, &stderr)
	}()
	err := wait.Poll(15*time.Second, func() error {
		select {
		case code := <-done:
			t.Fatalf("demo exited with %d before printing the banner\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
		default:
		}
		if !strings.Contains(stdout.String(), "Press Ctrl-C") {
			return errors.New("no banner")
		}
		return nil
	})
	if err != nil {
		t.Fatalf("%v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	banner := stdout.String()
	m := regexp.MustCompile(`gateway +(http://127\.0\.0\.1:\d+)\n`).FindStringSubmatch(banner)
	if m == nil {
		t.Fatalf("banner names no gateway URL:\n%s", banner)
	}
	gw := m[1]
	if !regexp.MustCompile(`dashboard +http://127\.0\.0\.1:\d+/ `).MatchString(banner) {
		t.Errorf("banner names no dashboard URL:\n%s", banner)
	}
	for _, want := range []string{
		"curl -i -H 'X-API-Version: 1' " + gw + "/users/1",
		"curl -s -H 'X-API-Version: 2' " + gw + "/users/1",
		"curl -s -H 'Accept: application/vnd.example.v2+json' " + gw + "/users/1",
		"curl -s " + gw + "/v2/users/1",
		"curl -i -H 'X-API-Version: 3' " + gw + "/users/1",
		"curl -s -H 'X-Env: canary' " + gw + "/users/1",
		`-H "X-User-ID: $u" ` + gw + "/users/1",
		"for u in alice bob",
		"20 requests/s",
		"after 1h0m0s",
	} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, banner)
		}
	}
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(gw + "/v2/users/1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Served-Version") != "v2" {
		t.Fatalf("GET /v2/users/1 = %d %q", resp.StatusCode, resp.Header.Get("X-Served-Version"))
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit code %d after cancellation; stderr:\n%s", code, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("demo did not stop within 15s of cancellation")
	}
	if _, err := c.Get(gw + "/users/1"); err == nil {
		t.Fatal("the gateway still answers after the demo stopped")
	}
}

func TestDemoFlagErrors(t *testing.T) {
	tests := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--rate", "0", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"}, 2, "--rate"},
		{[]string{"--fail-after", "-1s", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"}, 2, "--fail-after"},
		{[]string{"--listen", "no-port", "--admin", "127.0.0.1:0"}, 1, "no-port"},
		{[]string{"--bogus"}, 1, "bogus"},
		{[]string{"extra"}, 1, "extra"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr syncbuf.Buffer
			ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
			defer cancel()
			code := demoMain(ctx, tc.args, &stdout, &stderr)
			if code != tc.code || !strings.Contains(stderr.String(), tc.msg) {
				t.Fatalf("exit %d, stderr %q; want %d mentioning %q", code, stderr.String(), tc.code, tc.msg)
			}
			if stdout.String() != "" {
				t.Fatalf("stdout %q; want nothing", stdout.String())
			}
		})
	}
}

func TestMainKnowsDemo(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := Main([]string{"demo", "--help"}, &stdout, &stderr); code != 0 {
		t.Fatalf("demo --help: exit %d: %s", code, stderr.String())
	}
	for _, flag := range []string{"--listen", "--admin", "--rate", "--load", "--fail-after"} {
		if !strings.Contains(stdout.String(), flag) {
			t.Errorf("help lacks %s:\n%s", flag, stdout.String())
		}
	}
}
