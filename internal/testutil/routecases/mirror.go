package routecases

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/mirror"
	"github.com/turnout-gw/turnout/internal/testutil"
	"github.com/turnout-gw/turnout/internal/testutil/routecases/mirrorcases"
)

// MirrorYAML, Mirror and MirrorCases are the mirror cases (mirrorcases,
// which the xDS export's tests import too).
const MirrorYAML = mirrorcases.YAML

// Mirror is one mirror case.
type Mirror = mirrorcases.Case

// MirrorCases are the mirror cases of MirrorYAML.
var MirrorCases = mirrorcases.Cases

// MirrorTarget is v2's upstream in the proxy's mirror harness: it answers
// as testutil.VersionHandler("v2") and counts, by path, the mirrored
// copies (X-Turnout-Mirror: 1) it receives. It is safe for concurrent use
// and closed by t.Cleanup.
type MirrorTarget struct {
	*httptest.Server
	mu     sync.Mutex
	copies map[string]int
}

// NewMirrorTarget starts a MirrorTarget on 127.0.0.1:0.
func NewMirrorTarget(t testing.TB) *MirrorTarget {
	m := &MirrorTarget{copies: map[string]int{}}
	v2 := testutil.VersionHandler("v2")
	m.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
		if r.Header.Get(mirror.HeaderMirror) == "1" {
			m.mu.Lock()
			m.copies[r.URL.Path]++
			m.mu.Unlock()
		}
		v2.ServeHTTP(w, r)
	}))
	t.Cleanup(m.Close)
	return m
}

// Copies returns how many copies of path the target has received.
func (m *MirrorTarget) Copies(path string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.copies[path]
}

// MirrorVars are the variables of MirrorYAML with the upstreams v1 and v2.
func MirrorVars(v1, v2 string) map[string]string { return map[string]string{"V1": v1, "V2": v2} }

// RunMirror runs every mirror case against tt, a whole Turnout serving
// MirrorYAML with target as v2's upstream: each case twice, each time
// until the gateway has counted the request (it counts after the mirror
// tap is done, so a copy is queued by then) and the service's mirror has
// no copy pending; the target must then have received one more copy of
// the case's path when the case is mirrored, none otherwise. The proxy
// honours every case: one marked refused for it fails.
func RunMirror(t *testing.T, tt *testutil.Turnout, target *MirrorTarget) {
	c := noRedirects()
	counted := map[string]int{} // per metric line
	for _, tc := range MirrorCases {
		t.Run(tc.Name, func(t *testing.T) {
			if tc.RefusedBy(mirrorcases.Proxy) {
				t.Fatalf("the table marks this case refused for the proxy, which mirrors")
			}
			line := fmt.Sprintf(`turnout_requests_total{code="200",service=%q,version=%q}`, tc.Service, tc.Served)
			for rep := range 2 {
				before := target.Copies(tc.Path)
				req := testutil.NewRequest(t, tc.Method, tt.URL+tc.Path, tc.Headers...)
				if tc.Key != "" {
					req.Header.Set("X-User-ID", tc.Key)
				}
				resp, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if served := resp.Header.Get("X-Served-Version"); resp.StatusCode != http.StatusOK || served != tc.Served {
					t.Fatalf("request %d: got %d served=%q; want 200 served=%q", rep+1, resp.StatusCode, served, tc.Served)
				}
				counted[line]++
				want := strconv.Itoa(counted[line])
				testutil.Eventually(t, 10*time.Second, line+" = "+want, func() bool { return testutil.Metric(t, tt, line) == want })
				testutil.Eventually(t, 10*time.Second, "no copy pending for "+tc.Service, func() bool {
					r, ok := tt.App.Mirror.Report(tc.Service, 0)
					return ok && r.Pending == 0
				})
				if got, want := target.Copies(tc.Path)-before, map[bool]int{true: 1}[tc.Mirrored]; got != want {
					t.Fatalf("request %d: %d copies reached the mirror target, want %d", rep+1, got, want)
				}
			}
		})
	}
}
