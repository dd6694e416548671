package middleware_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// denied are the import path prefixes an in-process user must not link:
// Turnout's listeners and data-plane servers (internal/gateway and what
// only it uses, the reverse-proxy handler of internal/proxy among them),
// the xDS server, Envoy's and xDS's protobufs and gRPC's xDS client.
// google.golang.org/grpc itself stays: the interceptors need it.
// internal/upstream stays too: internal/core provisions the gateway's pools
// and dry-runs them for validate, and a Snapshot names them.
var denied = []string{
	"github.com/turnout-gw/turnout/internal/gateway",
	"github.com/turnout-gw/turnout/internal/proxy",
	"github.com/turnout-gw/turnout/internal/xds",
	"github.com/turnout-gw/turnout/internal/h1server",
	"github.com/turnout-gw/turnout/internal/qnproxy",
	"github.com/turnout-gw/turnout/internal/framing",
	"github.com/turnout-gw/turnout/internal/reuseport",
	"github.com/envoyproxy",
	"github.com/cncf/xds",
	"google.golang.org/grpc/xds",
	"google.golang.org/grpc/internal/xds",
}

// deniedDeps lists the packages pkg depends on (go list -deps) that
// denied names.
func deniedDeps(t *testing.T, pkg string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "list", "-deps", pkg).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	var bad []string
	for _, dep := range strings.Fields(string(out)) {
		for _, d := range denied {
			if dep == d || strings.HasPrefix(dep, d+"/") {
				bad = append(bad, dep)
				break
			}
		}
	}
	return bad
}

// TestImportGraph checks that package middleware links no listener, no
// xDS server and no Envoy type: it starts internal/core, the socket-free
// part, not internal/gateway. The gateway's own graph must hit the deny
// list, so a list that stopped matching anything would fail here too.
func TestImportGraph(t *testing.T) {
	if bad := deniedDeps(t, "github.com/turnout-gw/turnout/middleware"); len(bad) > 0 {
		t.Errorf("middleware depends on %d denied packages, e.g.:\n%s", len(bad), strings.Join(bad[:min(len(bad), 10)], "\n"))
	}
	if bad := deniedDeps(t, "github.com/turnout-gw/turnout/internal/gateway"); len(bad) < 10 {
		t.Errorf("the deny list catches only %d packages of internal/gateway's graph (%v): it no longer names what the gateway links", len(bad), bad)
	}
}
