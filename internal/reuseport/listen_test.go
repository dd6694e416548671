package reuseport

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestListenBesideSharesAnAddress: ListenBeside binds an address a Listen
// holds; after the first closes, every connection reaches the second.
func TestListenBesideSharesAnAddress(t *testing.T) {
	if !Supported() {
		t.Fatal("SO_REUSEPORT is expected on linux (the only platform Turnout's CI runs)")
	}
	a, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b, err := ListenBeside(a.Addr().String())
	if err != nil {
		a.Close()
		t.Fatalf("second listener on %s: %v", a.Addr(), err)
	}
	defer b.Close()
	go serveName(b, "b")
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if got := dialName(t, b.Addr().String()); got != "b" {
			t.Fatalf("connection %d answered by %q, want b", i, got)
		}
	}
}

// TestListenIsExclusive: a second Listen on an address this process holds
// is refused as in use by this process, and the first keeps its
// connections.
func TestListenIsExclusive(t *testing.T) {
	a, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	go serveName(a, "a")
	b, err := Listen(a.Addr().String())
	var iu *InUseError
	if !errors.As(err, &iu) || !iu.Self || !errors.Is(err, syscall.EADDRINUSE) {
		if b != nil {
			b.Close()
		}
		t.Fatalf("second Listen: %v, want an *InUseError by this process", err)
	}
	if got := dialName(t, a.Addr().String()); got != "a" {
		t.Fatalf("answered by %q", got)
	}
}

// TestAloneSeesASharer: the check after the bind (two Turnouts that passed
// the probe at the same instant) finds a socket bound beside.
func TestAloneSeesASharer(t *testing.T) {
	a, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := alone(a); err != nil {
		t.Fatalf("alone on a single listener: %v", err)
	}
	b, err := ListenBeside(a.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var iu *InUseError
	if err := alone(a); !errors.As(err, &iu) || !iu.Self {
		t.Fatalf("alone with a listener beside: %v, want an *InUseError by this process", err)
	}
}

// TestListenNamesTheHolder: Listen on an address another process holds
// fails naming its pid, and says whether it is a Turnout (it listened with
// this package) or another program (a plain socket, even with
// SO_REUSEPORT); Holders agrees. ListenBeside shares only with a Turnout's
// SO_REUSEPORT socket, never with a plain one.
func TestListenNamesTheHolder(t *testing.T) {
	for _, tc := range []struct {
		mode    string
		turnout bool
		beside  bool
	}{
		{"turnout", true, true},
		{"plain", false, false},
		{"reuseport", false, true},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			pid, addr := startHolder(t, tc.mode)
			ln, err := Listen(addr)
			var iu *InUseError
			if !errors.As(err, &iu) {
				if ln != nil {
					ln.Close()
				}
				t.Fatalf("Listen %s beside a %s holder: %v, want an *InUseError", addr, tc.mode, err)
			}
			if iu.Holder.PID != pid || iu.Holder.Turnout != tc.turnout || iu.Self {
				t.Fatalf("holder %+v self=%v, want pid %d turnout=%v", iu.Holder, iu.Self, pid, tc.turnout)
			}
			want := fmt.Sprintf("address in use by pid %d (reuseport.test)", pid)
			if tc.turnout {
				want = fmt.Sprintf("address in use by another turnout (pid %d)", pid)
			}
			if err.Error() != want {
				t.Fatalf("error %q, want %q", err, want)
			}
			hs, err := Holders(addr)
			if err != nil || len(hs) != 1 || hs[0] != iu.Holder {
				t.Fatalf("Holders = %+v, %v; want [%+v]", hs, err, iu.Holder)
			}
			b, err := ListenBeside(addr)
			if err == nil {
				b.Close()
			}
			if (err == nil) != tc.beside {
				t.Fatalf("ListenBeside a %s holder: %v, want success %v", tc.mode, err, tc.beside)
			}
		})
	}
}

// TestParseHexAddr reads /proc/net/tcp's address forms.
func TestParseHexAddr(t *testing.T) {
	for in, want := range map[string]string{
		"0100007F:1F90":                         "127.0.0.1:8080",
		"00000000:0050":                         "0.0.0.0:80",
		"00000000000000000000000000000000:1F90": "[::]:8080",
		"0000000000000000FFFF00000100007F:1F90": "127.0.0.1:8080",
		"00000000000000000000000001000000:0016": "[::1]:22",
	} {
		got, ok := parseHexAddr(in)
		if !ok || got.String() != want {
			t.Errorf("parseHexAddr(%q) = %v %v, want %s", in, got, ok, want)
		}
	}
}

// startHolder runs this test binary as a holder (see TestMain) in a child
// process and returns its pid and address; the child ends at cleanup.
func startHolder(t *testing.T, mode string) (int, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "REUSEPORT_HOLDER="+mode)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); _ = cmd.Wait() })
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- strings.TrimSpace(s)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case addr := <-line:
		if _, _, err := net.SplitHostPort(addr); err != nil {
			t.Fatalf("helper printed %q", addr)
		}
		return cmd.Process.Pid, addr
	case <-time.After(30 * time.Second):
		t.Fatal("helper did not print its address in 30s")
	}
	return 0, ""
}

func serveName(ln net.Listener, name string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		_, _ = io.WriteString(c, name)
		_ = c.Close()
	}
}

func dialName(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
