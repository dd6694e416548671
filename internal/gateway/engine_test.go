package gateway_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/gateway"
	"github.com/turnout-gw/turnout/internal/testutil"
)

const engineYAML = `
log: { level: error }
upstreams:
  v1: { targets: [{{V1}}] }
services:
  api:
    match: { path_prefix: / }
    default: v1
    versions: { v1: { upstream: v1 } }
`

// TestDataPlaneEngine: the data plane is served by h1server unless
// TURNOUT_HTTP_SERVER=net/http. A good request followed on the same
// connection by one with an unknown Transfer-Encoding tells them apart:
// h1server answers the first and refuses the second, net/http's framing
// guard refuses them together; the smuggled request after them never
// gets an answer.
func TestDataPlaneEngine(t *testing.T) {
	for _, tc := range []struct {
		engine   string
		statuses []int
	}{
		{"", []int{http.StatusOK, http.StatusBadRequest}},
		{gateway.EngineNetHTTP, []int{http.StatusBadRequest}},
	} {
		t.Run("engine="+tc.engine, func(t *testing.T) {
			t.Setenv(gateway.EngineEnv, tc.engine)
			up := testutil.VersionServer(t, "v1")
			tt := testutil.StartWith(t, engineYAML, map[string]string{"V1": up.URL}, gateway.AppOptions{})
			nc, err := net.Dial("tcp", strings.TrimPrefix(tt.URL, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
			io.WriteString(nc, "GET /ok HTTP/1.1\r\nHost: x\r\n\r\n"+
				"POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n")
			br := bufio.NewReader(nc)
			for i, want := range tc.statuses {
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("response %d: %v", i, err)
				}
				io.Copy(io.Discard, resp.Body)
				if resp.StatusCode != want {
					t.Errorf("response %d: status %d, want %d", i, resp.StatusCode, want)
				}
			}
			if _, err := http.ReadResponse(br, nil); err == nil {
				t.Error("one answer too many: the smuggled request was served")
			}
		})
	}
}

// TestClientGoneCancelsUpstream: with either engine, a client that hangs
// up while the upstream is still working has the upstream request
// cancelled.
func TestClientGoneCancelsUpstream(t *testing.T) {
	for _, engine := range []string{"", gateway.EngineNetHTTP} {
		t.Run("engine="+engine, func(t *testing.T) {
			t.Setenv(gateway.EngineEnv, engine)
			gone := make(chan bool, 1)
			var arrived atomic.Bool
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				arrived.Store(true)
				select {
				case <-r.Context().Done():
					gone <- true
				case <-time.After(10 * time.Second):
					gone <- false
				}
			}))
			defer up.Close()
			tt := testutil.StartWith(t, engineYAML, map[string]string{"V1": up.URL}, gateway.AppOptions{})
			nc, err := net.Dial("tcp", strings.TrimPrefix(tt.URL, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			io.WriteString(nc, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
			testutil.Eventually(t, 5*time.Second, "the request at the upstream", arrived.Load)
			nc.Close()
			if !<-gone {
				t.Error("the upstream request outlived the client")
			}
		})
	}
}

// forEngines runs test with each data-plane server: h1server (lean) and
// net/http's.
func forEngines(t *testing.T, test func(t *testing.T, lean bool)) {
	for _, engine := range []string{"", gateway.EngineNetHTTP} {
		t.Run("engine="+engine, func(t *testing.T) {
			t.Setenv(gateway.EngineEnv, engine)
			test(t, engine == "")
		})
	}
}

// rawExchangeN writes req on a new connection to addr and returns the
// status lines of the first n answers ("" for those that did not come).
func rawExchangeN(t *testing.T, addr, req string, n int) []string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	lines := make([]string, n)
	for i := range lines {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			break
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		lines[i] = resp.Proto + " " + resp.Status
	}
	return lines
}
