package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/testutil"
)

// everyListenerYAML listens on all five kinds of address: data plane, TLS,
// admin, xDS and a QN service.
const everyListenerYAML = `
listen: {{LISTEN}}
admin: { listen: {{ADMIN}} }
tls: { listen: {{TLS}}, cert: {{CERT}}, key: {{KEY}} }
xds: { listen: {{XDS}} }
state: memory
upstreams:
  v1: { targets: [{{UP}}] }
  meters-v1: { targets: [tcp://{{QNUP}}] }
services:
  users:
    match: { path_prefix: /users }
    default: v1
    versions: { v1: { upstream: v1 } }
  meters:
    protocol: qn
    listen: {{QN}}
    default: v1
    versions: { v1: { upstream: meters-v1, speaks: v1 } }
`

// TestSecondServeRefused: a second `turnout serve` whose configuration
// shares one address with a running turnout (each of the five kinds in
// turn, the others on free ports) exits 1 naming that turnout's pid and
// suggesting --takeover, while the first serves HTTP/1.1 and h2c load
// without a single failure and still answers on every address afterwards.
// On the code before the check, the second one started beside the first.
func TestSecondServeRefused(t *testing.T) {
	up := testutil.VersionServer(t, "v1")
	dir := t.TempDir()
	cert, key, roots := testutil.Cert(t, dir)
	vars := map[string]string{"LISTEN": "127.0.0.1:0", "ADMIN": "127.0.0.1:0", "UP": up.URL,
		"TLS": testutil.ClosedAddr(t), "XDS": testutil.ClosedAddr(t), "QN": testutil.ClosedAddr(t),
		"QNUP": testutil.ClosedAddr(t), "CERT": cert, "KEY": key}
	a := startProc(t, writeConfig(t, dir, everyListenerYAML, vars))
	vars["LISTEN"], vars["ADMIN"] = strings.TrimPrefix(a.URL, "http://"), strings.TrimPrefix(a.AdminURL, "http://")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	l := startUpgradeLoad(ctx, a.URL, 4)
	defer l.stop()
	l.waitOK(t, 50)
	want := fmt.Sprintf("address in use by another turnout (pid %d); use --takeover to replace it", a.cmd.Process.Pid)
	for _, kind := range []struct{ key, what string }{
		{"LISTEN", "data plane listen"}, {"TLS", "TLS listen"}, {"ADMIN", "admin listen"},
		{"XDS", "xds listen"}, {"QN", "services.meters.listen"},
	} {
		t.Run(kind.key, func(t *testing.T) {
			bvars := map[string]string{"LISTEN": "127.0.0.1:0", "ADMIN": "127.0.0.1:0", "TLS": "127.0.0.1:0",
				"XDS": "127.0.0.1:0", "QN": "127.0.0.1:0", kind.key: vars[kind.key]}
			for k, v := range vars {
				if _, set := bvars[k]; !set {
					bvars[k] = v
				}
			}
			b := launchProc(t, []string{"serve", "-c", writeConfig(t, t.TempDir(), everyListenerYAML, bvars)})
			code := b.waitExit(t, 60*time.Second)
			if code != 1 || !strings.Contains(b.logs(), kind.what) || !strings.Contains(b.logs(), want) {
				t.Fatalf("second serve sharing %s: exit %d, want 1 and %q after %q:\n%s", kind.key, code, want, kind.what, b.logs())
			}
			if servingRE.MatchString(b.logs()) {
				t.Fatalf("the second serve started serving:\n%s", b.logs())
			}
		})
	}
	l.waitOK(t, l.ok.Load()+50)
	l.stop()
	if f := l.failures(); len(f) > 0 {
		t.Fatalf("%d requests to the first turnout failed, first: %s\n%s", len(f), f[0], a.logs())
	}
	tc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	if err := getOK(tc, "https://"+vars["TLS"]+"/users/tls"); err != nil {
		t.Fatalf("TLS after the refusals: %v", err)
	}
	for _, k := range []string{"XDS", "QN", "ADMIN"} {
		c, err := net.DialTimeout("tcp", vars[k], 5*time.Second)
		if err != nil {
			t.Fatalf("%s after the refusals: %v", k, err)
		}
		c.Close()
	}
	t.Logf("%d requests to the first turnout, 0 failed", l.ok.Load())
}

// TestServeRefusesAnotherProgram: an address another program holds is a
// plain "address in use" naming its pid, without the --takeover hint, and
// --takeover refuses to bind beside it.
func TestServeRefusesAnotherProgram(t *testing.T) {
	other, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	path := writeConfig(t, t.TempDir(), `
listen: `+other.Addr().String()+`
admin: { listen: 127.0.0.1:0 }
state: memory
upstreams: { v1: { targets: [http://127.0.0.1:1] } }
services:
  users: { match: { path_prefix: /users }, default: v1, versions: { v1: { upstream: v1 } } }
`, nil)
	held := regexp.MustCompile(fmt.Sprintf(`data plane listen %s: address in use by pid %d \(\S+\)\n`,
		regexp.QuoteMeta(other.Addr().String()), os.Getpid()))
	b := launchProc(t, []string{"serve", "-c", path})
	if code := b.waitExit(t, 60*time.Second); code != 1 || !held.MatchString(b.logs()) {
		t.Fatalf("serve on an address this test holds: exit %d, want 1 and %q:\n%s", code, held, b.logs())
	}
	c := launchProc(t, []string{"serve", "--takeover", "-c", path})
	if code := c.waitExit(t, 60*time.Second); code != 1 || !strings.Contains(c.logs(), "--takeover replaces only a turnout") {
		t.Fatalf("serve --takeover beside another program: exit %d, want 1 and a refusal:\n%s", code, c.logs())
	}
}

// waitExit waits (at most timeout) for the process to exit by itself and
// returns its exit code.
func (p *proc) waitExit(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.exited:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		t.Fatalf("still running after %v:\n%s", timeout, p.logs())
	}
	return 0
}
