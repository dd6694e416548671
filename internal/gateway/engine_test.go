package gateway_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
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
// TURNOUT_HTTP_SERVER=net/http. The two answer a request with an unknown
// Transfer-Encoding differently (400 and 501), and both refuse it; the
// smuggled request after it must never reach the upstream.
func TestDataPlaneEngine(t *testing.T) {
	for _, tc := range []struct {
		engine string
		status int
	}{
		{"", http.StatusBadRequest},
		{gateway.EngineNetHTTP, http.StatusNotImplemented},
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
			for i, want := range []int{http.StatusOK, tc.status} {
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
				t.Error("a third answer: the smuggled request was served")
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
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
			time.Sleep(100 * time.Millisecond)
			nc.Close()
			if !<-gone {
				t.Error("the upstream request outlived the client")
			}
		})
	}
}
