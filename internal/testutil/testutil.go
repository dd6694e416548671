// Package testutil owns helpers shared by integration tests: starting a
// whole Turnout from YAML text on 127.0.0.1:0 and small real upstreams. It is
// imported only from _test files.
package testutil

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/gateway"
	"github.com/turnout-gw/turnout/internal/rollout"
	"github.com/turnout-gw/turnout/internal/testutil/wait"
)

// Turnout is a running Turnout started by Start.
type Turnout struct {
	App  *gateway.App
	Path string // the configuration file
	URL  string // data plane base URL, http://127.0.0.1:PORT
	// AdminURL is the admin base URL.
	AdminURL string
}

// Start writes yamlText to a temp file (after replacing every {{NAME}} with
// vars[NAME]), forces listen and admin.listen to 127.0.0.1:0 unless the text
// sets them, and starts Turnout. It is stopped by t.Cleanup.
func Start(t testing.TB, yamlText string, vars map[string]string) *Turnout {
	t.Helper()
	return StartWith(t, yamlText, vars, gateway.AppOptions{Watch: true, Debounce: 50 * time.Millisecond})
}

// StartWith is Start with the given options (its Log is set when nil).
func StartWith(t testing.TB, yamlText string, vars map[string]string, o gateway.AppOptions) *Turnout {
	t.Helper()
	text := Expand(yamlText, vars)
	if !strings.Contains(text, "\nlisten:") && !strings.HasPrefix(text, "listen:") {
		text = "listen: 127.0.0.1:0\n" + text
	}
	if !strings.Contains(text, "\nadmin:") && !strings.HasPrefix(text, "admin:") {
		text = "admin: { listen: 127.0.0.1:0 }\n" + text
	}
	path := filepath.Join(t.TempDir(), "turnout.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatalf("config:\n%v\n---\n%s", err, text)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if o.Log == nil {
		o.Log = log
	}
	app, err := gateway.Start(cfg, path, o)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = app.Stop(ctx)
	})
	return &Turnout{App: app, Path: path, URL: "http://" + app.Server.Addr(), AdminURL: "http://" + app.Server.AdminAddr()}
}

// Expand replaces {{NAME}} with vars[NAME].
func Expand(text string, vars map[string]string) string {
	for k, v := range vars {
		text = strings.ReplaceAll(text, "{{"+k+"}}", v)
	}
	return text
}

// Rewrite replaces the configuration file's content (same expansion as
// Start) atomically, by writing a temp file and renaming it over the old.
func (tt *Turnout) Rewrite(t testing.TB, yamlText string, vars map[string]string) {
	t.Helper()
	tmp := tt.Path + ".tmp"
	if err := os.WriteFile(tmp, []byte(Expand(yamlText, vars)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, tt.Path); err != nil {
		t.Fatal(err)
	}
}

// VersionServer starts an HTTP upstream serving VersionHandler(version).
// It is closed by t.Cleanup.
func VersionServer(t testing.TB, version string) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(VersionHandler(version))
	t.Cleanup(s.Close)
	return s
}

// VersionHandler answers every request with JSON naming version and echoing
// what it received (path and X-Turnout-Version), and the header
// X-Upstream-Version: the backend of the shared routing cases, as an
// upstream behind the proxy or in process behind the middleware.
func VersionHandler(version string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Upstream-Version", version)
		fmt.Fprintf(w, `{"version":%q,"path":%q,"turnout_version":%q}`+"\n", version, r.URL.Path, r.Header.Get("X-Turnout-Version"))
	})
}

// Get sends a GET with headers ("Name: value" strings) and returns the
// status, the X-Served-Version header and the body.
func Get(t testing.TB, c *http.Client, url string, headers ...string) (int, string, string) {
	t.Helper()
	resp, err := c.Do(NewRequest(t, http.MethodGet, url, headers...))
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("X-Served-Version"), string(b)
}

// GetJSON GETs url, decodes the JSON answer into v and returns the status.
func GetJSON(t testing.TB, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode
}

// NewRequest builds a request with headers given as "Name: value" strings.
func NewRequest(t testing.TB, method, url string, headers ...string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	return req
}

// Eventually is wait.For, the one shared wait of the tests: it polls cond
// until it holds and fails t naming what after timeout (bounded in time and
// in polls; it never asserts how long the wait took).
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	wait.For(t, timeout, what, cond)
}

// ClosedAddr returns host:port of a loopback port that was just listened
// on and closed: connecting to it is refused.
func ClosedAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// Metric returns the value of one sample line of tt's admin /metrics (the
// line up to its value, e.g. `turnout_rollbacks_total{service="users"}`),
// or "" when there is none.
func Metric(t testing.TB, tt *Turnout, line string) string {
	t.Helper()
	resp, err := http.Get(tt.AdminURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, line+" "); ok {
			return v
		}
	}
	return ""
}

// AnalysisCheck returns the check named name (e.g. contract_violation_rate)
// of a rollout's last analysis, false when there is none.
func AnalysisCheck(st *rollout.Status, name string) (rollout.Check, bool) {
	if st.LastAnalysis == nil {
		return rollout.Check{}, false
	}
	for _, c := range st.LastAnalysis.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return rollout.Check{}, false
}
