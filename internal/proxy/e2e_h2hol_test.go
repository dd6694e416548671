package proxy_test

// Head-of-line blocking over HTTP/2 through a whole Turnout: a client that
// stops reading one answer stalls that stream only, not the others sharing
// its client connection and Turnout's upstream connection.

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/testutil"
	"github.com/turnout-gw/turnout/internal/testutil/wait"
)

const h2HOLYAML = `
upstreams:
  big: { targets: [{{U}}], protocol: h2c, h2: { ping_interval: 5s, ping_timeout: 2s } }
services:
  files:
    match: { path_prefix: / }
    default: v1
    versions:
      v1: { upstream: big }
`

// TestE2EH2SlowReaderDoesNotBlockOtherStreams: a client asks for a 64 MiB
// answer over h2c and reads none of it; flow control stops the upstream
// once the stream's windows are full, the answer unfinished. A second call
// on the same client connection, carried on the same upstream connection,
// is answered meanwhile.
func TestE2EH2SlowReaderDoesNotBlockOtherStreams(t *testing.T) {
	const total = 64 << 20
	var written atomic.Int64
	var upConns atomic.Int64
	chunk := make([]byte, 64<<10)
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/big" {
			_, _ = io.WriteString(w, "fast")
			return
		}
		for written.Load() < total {
			n, err := w.Write(chunk)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	}))
	up.Config.Protocols = new(http.Protocols)
	up.Config.Protocols.SetUnencryptedHTTP2(true)
	up.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			upConns.Add(1)
		}
	}
	up.Start()
	t.Cleanup(up.Close)
	tt := testutil.Start(t, h2HOLYAML, map[string]string{"U": up.URL})

	var dials atomic.Int64
	protos := new(http.Protocols)
	protos.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: protos, DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	c := &http.Client{Transport: tr} // each call bounded by its context

	big, err := c.Do(testutil.NewRequest(t, http.MethodGet, tt.URL+"/big").WithContext(t.Context())) // held until the test ends
	if err != nil {
		t.Fatal(err)
	}
	defer big.Body.Close() // read none of it
	wait.For(t, 10*time.Second, "the upstream to send past one stream window", func() bool { return written.Load() > 4<<20 })

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, tt.URL+"/fast", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("a call beside the stalled stream: %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(b) != "fast" || resp.ProtoMajor != 2 {
		t.Fatalf("a call beside the stalled stream: HTTP/%d %q, %v", resp.ProtoMajor, b, err)
	}
	if w := written.Load(); w >= total {
		t.Fatalf("the big answer was sent whole (%d bytes) before the other call: nothing was stalled", w)
	}
	if dials.Load() != 1 || upConns.Load() != 1 {
		t.Errorf("%d client connections and %d upstream connections, want both calls on one of each", dials.Load(), upConns.Load())
	}
}
