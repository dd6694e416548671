package proxy_test

// WebSocket upgrades through the proxy (HTTP/1.1 and h2c clients) to a
// gorilla/websocket echo server on 127.0.0.1:0. Every wait is bounded.

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/turnout-gw/turnout/internal/testutil"
)

func protoWSEcho(t *testing.T, h2c bool, lastProto *atomic.Int32) *httptest.Server {
	t.Helper()
	up := websocket.Upgrader{}
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !websocket.IsWebSocketUpgrade(r) {
			lastProto.Store(int32(r.ProtoMajor))
			fmt.Fprintf(w, "plain %s %s", r.Proto, r.Header.Get("X-Turnout-Version"))
			return
		}
		h := http.Header{"X-Upstream-Turnout-Version": {r.Header.Get("X-Turnout-Version")}}
		conn, err := up.Upgrade(w, r, h)
		if err != nil {
			return
		}
		defer conn.Close()
		for {
			_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			typ, msg, err := conn.ReadMessage()
			if err != nil {
				return
			}
			_ = conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
			if err := conn.WriteMessage(typ, append([]byte("echo:"), msg...)); err != nil {
				return
			}
		}
	}))
	if h2c {
		p := new(http.Protocols)
		p.SetHTTP1(true)
		p.SetUnencryptedHTTP2(true)
		s.Config.Protocols = p
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func TestE2EWebSocket(t *testing.T) {
	for _, protocol := range []string{"http1", "h2c"} {
		t.Run(protocol, func(t *testing.T) {
			var lastProto atomic.Int32
			ws := protoWSEcho(t, protocol == "h2c", &lastProto)
			v1 := testutil.VersionServer(t, "v1")
			tt := testutil.Start(t, `
upstreams:
  w-v1: { targets: [{{V1}}] }
  w-v2: { targets: [{{V2}}], protocol: `+protocol+` }
services:
  ws:
    match: { path_prefix: / }
    default: v1
    versions:
      v1: { upstream: w-v1 }
      v2: { upstream: w-v2 }
`, map[string]string{"V1": v1.URL, "V2": ws.URL})

			d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
			conn, resp, err := d.DialContext(protoCtx(t, 5*time.Second),
				"ws://"+strings.TrimPrefix(tt.URL, "http://")+"/ws", http.Header{"X-API-Version": {"2"}})
			if err != nil {
				if resp != nil {
					b, _ := io.ReadAll(resp.Body)
					t.Fatalf("dial: %v (status %d: %s)", err, resp.StatusCode, b)
				}
				t.Fatalf("dial: %v", err)
			}
			t.Cleanup(func() { _ = conn.Close() })
			if resp.StatusCode != http.StatusSwitchingProtocols {
				t.Fatalf("handshake status %d", resp.StatusCode)
			}
			if got := resp.Header.Get("X-Served-Version"); got != "v2" {
				t.Errorf("X-Served-Version = %q, want v2", got)
			}
			if got := resp.Header.Get("X-Upstream-Turnout-Version"); got != "v2" {
				t.Errorf("upstream saw X-Turnout-Version %q, want v2", got)
			}
			for i := range 20 {
				msg := fmt.Sprintf("message %d", i)
				_ = conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
				if err := conn.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
					t.Fatalf("write %d: %v", i, err)
				}
				_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
				typ, got, err := conn.ReadMessage()
				if err != nil {
					t.Fatalf("read %d: %v", i, err)
				}
				if typ != websocket.TextMessage || string(got) != "echo:"+msg {
					t.Fatalf("echo %d = %d %q", i, typ, got)
				}
			}
			_ = conn.WriteControl(websocket.CloseMessage,
				websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))

			// Ordinary requests to the same pool still use its protocol.
			c := &http.Client{Timeout: 5 * time.Second}
			code, served, body := testutil.Get(t, c, tt.URL+"/plain", "X-API-Version: 2")
			if code != http.StatusOK || served != "v2" {
				t.Fatalf("plain GET = %d %q %q", code, served, body)
			}
			wantProto := int32(1)
			if protocol == "h2c" {
				wantProto = 2
			}
			if got := lastProto.Load(); got != wantProto {
				t.Errorf("plain request reached the upstream over HTTP/%d, want HTTP/%d", got, wantProto)
			}
		})
	}
}

// protoCert writes a certificate for 127.0.0.1 and localhost into dir and
// returns the cert and key paths and a pool trusting it.
