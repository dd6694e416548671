package cli

import (
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/cluster"
	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/core"
	"github.com/turnout-gw/turnout/internal/testutil/etcdtest"
	"github.com/turnout-gw/turnout/internal/testutil/wait"
)

// TestClusterStatusNotInAFleet: a Turnout without a cluster block says so.
func TestClusterStatusNotInAFleet(t *testing.T) {
	f := newFixture(t, "")
	code, _, errOut := run(t, "cluster", "status", "--admin", f.Srv.URL)
	if code != 1 || !strings.Contains(errOut, "not in a fleet") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
}

// TestClusterStatusTable: the one member of a fleet on a real etcd is
// listed as its leader.
func TestClusterStatusTable(t *testing.T) {
	srv := etcdtest.Start(t)
	// The member advertises the admin server the test starts on a port
	// the system picks, so a traffic read reaches it and nothing else.
	admin := httptest.NewUnstartedServer(nil)
	t.Cleanup(admin.Close)
	path := filepath.Join(t.TempDir(), "turnout.yaml")
	text := fmt.Sprintf(`state: memory
cluster: { etcd: { endpoints: [%s] }, member: gw-1, advertise: "http://%s", lease: 1s }
upstreams: { local: { targets: [http://127.0.0.1:9] } }
services:
  users:
    match: { path_prefix: /users }
    default: v1
    versions: { v1: { upstream: local }, v2: { upstream: local } }
    rollout: { from: v1, to: v2, weight: 10 }
`, srv.Endpoint, admin.Listener.Addr())
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := core.Start(cfg, path, core.Options{NoPools: true, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop() })
	admin.Config.Handler = c.Admin
	admin.Start()
	var out string
	wait.ForErr(t, 15*time.Second, "gw-1 to lead", func() error {
		code, o, errOut := run(t, "cluster", "status", "--admin", admin.URL)
		if code != 0 || !strings.HasPrefix(o, "leader: gw-1 ") {
			return fmt.Errorf("exit %d: %s%s", code, o, errOut)
		}
		out = o
		return nil
	})
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("want the leader line, a header and one row:\n%s", out)
	}
	if !regexp.MustCompile(`^MEMBER +LEADER +ADVERTISE +LAST SEEN +REQUESTS +SPEC HASH +BINARY$`).MatchString(lines[1]) {
		t.Errorf("header %q", lines[1])
	}
	if !regexp.MustCompile(`^gw-1 +\* +` + regexp.QuoteMeta(admin.URL) + ` +\d+s ago +0 +[0-9a-f]{16} +\S`).MatchString(lines[2]) {
		t.Errorf("row %q", lines[2])
	}
}

// TestClusterViewTraffic: each member's requests are a column; a member
// whose traffic could not be read shows "?" and, after the table, why.
func TestClusterViewTraffic(t *testing.T) {
	n := int64(1234)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	v := cluster.View{Self: "a", Leader: "a", LastSync: at, TrafficWindow: "1m0s", Members: []cluster.MemberView{
		{Name: "a", Leader: true, LastSeen: at, SpecHash: "h", Requests: &n},
		{Name: "b", LastSeen: at, SpecHash: "h", TrafficError: "unreachable: connection refused"},
		{Name: "c", LastSeen: at, SpecHash: "h"},
	}}
	var b strings.Builder
	if err := writeClusterView(&b, v, at); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, re := range []string{`(?m)requests over the last 1m0s$`, `(?m)^a +\* +0s ago +1234 +h `, `(?m)^b +0s ago +\? +h `, `(?m)^c +0s ago +- +h `,
		`(?m)^b: traffic not read: unreachable: connection refused$`} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("no %s in:\n%s", re, out)
		}
	}
}
