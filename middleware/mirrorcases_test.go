package middleware_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/testutil"
	"github.com/turnout-gw/turnout/internal/testutil/routecases"
	"github.com/turnout-gw/turnout/internal/testutil/routecases/mirrorcases"
	"github.com/turnout-gw/turnout/internal/testutil/syncbuf"
	"github.com/turnout-gw/turnout/middleware"
)

// TestMirrorCasesRefused: the middleware sends no copies, so the table
// marks every mirror case refused for it, and the refusal is there: New
// says by key and FILE:LINE:COL that each case's service's `mirror` is
// not applied in process (mirrorRefusal). The requests are still routed
// as the cases say.
func TestMirrorCasesRefused(t *testing.T) {
	var logs syncbuf.Buffer
	vs := middleware.Versions{"v1": testutil.VersionHandler("v1"), "v2": testutil.VersionHandler("v2")}
	h := start(t, routecases.MirrorYAML, routecases.MirrorVars("http://127.0.0.1:9", "http://127.0.0.1:9"), vs,
		middleware.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	for _, tc := range routecases.MirrorCases {
		t.Run(tc.Name, func(t *testing.T) {
			if !tc.RefusedBy(mirrorcases.Middleware) {
				t.Fatalf("not marked refused for the middleware, which sends no copies")
			}
			if err := mirrorRefusal(h.Path, logs.String(), tc.Service); err != nil {
				t.Fatal(err)
			}
			req := testutil.NewRequest(t, tc.Method, h.URL+tc.Path, tc.Headers...)
			if tc.Key != "" {
				req.Header.Set("X-User-ID", tc.Key)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if served := resp.Header.Get("X-Served-Version"); resp.StatusCode != http.StatusOK || served != tc.Served {
				t.Fatalf("got %d served=%q; want 200 served=%q", resp.StatusCode, served, tc.Served)
			}
		})
	}
}

// mirrorRefusal is how the middleware refuses `mirror`: it returns nil
// when what New logged (logs) names services.SERVICE.mirror at its
// FILE:LINE:COL in the configuration file path, as not applied in
// process. Should validate refuse the key for the middleware instead, this
// is the one place to change.
func mirrorRefusal(path, logs, service string) error {
	cfg, err := config.Load(path)
	if err != nil {
		return err
	}
	s := cfg.Services[service]
	if s == nil || !s.Has("mirror") {
		return fmt.Errorf("service %s has no mirror in %s", service, path)
	}
	pos := s.KeyPos("mirror")
	if pos.Line == 0 || pos.Col == 0 {
		return fmt.Errorf("services.%s.mirror has no position (%v)", service, pos)
	}
	want := fmt.Sprintf("key=services.%s.mirror at=%s ", service, pos)
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, "level=WARN") && strings.Contains(line, "applies to the proxy only") && strings.Contains(line+" ", want) {
			return nil
		}
	}
	return fmt.Errorf("New logged no warning with %q:\n%s", want, logs)
}
