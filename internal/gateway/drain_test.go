package gateway_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/gateway"
	"github.com/turnout-gw/turnout/internal/store"
	"github.com/turnout-gw/turnout/internal/testutil"
)

const drainYAML = `
state: ./turnout.db
upstreams:
  v1: { targets: [{{V1}}] }
services:
  api:
    match: { path_prefix: / }
    default: v1
    versions: { v1: { upstream: v1 } }
`

// TestStopDrains: once Stop starts, the listener refuses new connections
// and the state file can be opened by another process, while the request
// in flight still completes — with Connection: close, so its keep-alive
// client moves on — before Stop returns.
func TestStopDrains(t *testing.T) {
	release, arrived := make(chan struct{}), make(chan struct{}, 1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			arrived <- struct{}{}
			<-release
		}
		io.WriteString(w, "ok")
	}))
	defer up.Close()
	defer close(release) // before up.Close
	tt := testutil.StartWith(t, drainYAML, map[string]string{"V1": up.URL}, gateway.AppOptions{})
	c := &http.Client{Timeout: 10 * time.Second}
	if _, err := getBody(c, tt.URL+"/warm"); err != nil { // a keep-alive connection
		t.Fatal(err)
	}
	type answer struct {
		resp *http.Response
		err  error
	}
	slow := make(chan answer, 1)
	go func() {
		resp, err := c.Get(tt.URL + "/slow")
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		slow <- answer{resp, err}
	}()
	<-arrived
	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		stopped <- tt.App.Stop(ctx)
	}()

	// The state file is handed over while the request is in flight.
	path := filepath.Join(filepath.Dir(tt.Path), "turnout.db")
	st, err := store.Open(path, store.WithLockTimeout(10*time.Second))
	if err != nil {
		t.Fatalf("state file not released while draining: %v", err)
	}
	st.Close()
	waitRefused(t, strings.TrimPrefix(tt.URL, "http://"))
	select {
	case err := <-stopped:
		t.Fatalf("Stop returned (%v) with a request in flight", err)
	case a := <-slow:
		t.Fatalf("in-flight request ended early: %v", a.err)
	default:
	}
	release <- struct{}{}
	a := <-slow
	if a.err != nil || a.resp.StatusCode != http.StatusOK {
		t.Fatalf("in-flight request: %v %v", a.resp, a.err)
	}
	if !a.resp.Close {
		t.Errorf("the answer during the drain kept the connection alive (no Connection: close)")
	}
	if err := <-stopped; err != nil {
		t.Fatalf("Stop: %v", err)
	}
}

// waitRefused waits (at most 10 s) until addr refuses connections.
func waitRefused(t *testing.T, addr string) {
	t.Helper()
	testutil.Eventually(t, 10*time.Second, addr+" to refuse connections while draining", func() bool {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return true
		}
		conn.Close()
		return false
	})
}

func getBody(c *http.Client, url string) (string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}
