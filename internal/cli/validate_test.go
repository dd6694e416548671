package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// forYAML drives the proxy and the middleware: fallback and mirror are
// the proxy's only.
const forYAML = `state: memory
upstreams:
  v1: { targets: [http://127.0.0.1:9001] }
  v2: { targets: [http://127.0.0.1:9002] }
services:
  users:
    match: { path_prefix: /users }
    default: v1
    versions: { v1: { upstream: v1 }, v2: { upstream: v2 } }
    fallback: true
    mirror: { to: v2 }
`

// TestValidateFor: without --for a file the proxy honours is valid; --for
// names appliers whose refusals (the applier table) are problems, by
// FILE:LINE:COL, key and applier, and exit 1: the middleware's fallback
// and mirror (kept as warnings at run time), Envoy's and proxyless gRPC's
// fallback, proxyless gRPC's mirror.
func TestValidateFor(t *testing.T) {
	file := filepath.Join(t.TempDir(), "for.yaml")
	if err := os.WriteFile(file, []byte(forYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		args  []string
		code  int
		lines []string
	}{
		{"default", nil, 0, nil},
		{"proxy", []string{"--for", "proxy"}, 0, nil},
		{"middleware", []string{"--for", "middleware"}, 1, []string{
			file + ":10:15: middleware: services.users.fallback: not applied in process",
			file + ":11:13: middleware: services.users.mirror: not applied in process"}},
		{"xds", []string{"--for", "xds-envoy,xds-grpc", "--for", "qn"}, 1, []string{
			file + ":10:15: xds-envoy: services.users.fallback: retrying a failed request on the fallback version is not expressed in Envoy",
			file + ":10:15: xds-grpc: services.users.fallback:",
			file + ":11:13: xds-grpc: services.users.mirror: proxyless gRPC clients have no request mirroring"}},
		{"unknown", []string{"--for", "istio"}, 2, []string{`"istio" is not an applier`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := run(t, append([]string{"validate", "-c", file}, tc.args...)...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stdout %q, stderr:\n%s", code, tc.code, out, errOut)
			}
			for _, l := range tc.lines {
				if !strings.Contains(errOut, l) {
					t.Errorf("stderr lacks %q:\n%s", l, errOut)
				}
			}
			if n := strings.Count(errOut, "\n"); len(tc.lines) == 0 && n != 0 {
				t.Errorf("stderr:\n%s\nwant nothing", errOut)
			}
		})
	}
}
