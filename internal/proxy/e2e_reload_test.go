package proxy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/store"
	"github.com/turnout-gw/turnout/internal/testutil"
)

// deadURL returns an http URL on which nothing listens.
func deadURL(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

const fallbackYAML = `
limits: { fallback_body: 1KiB }
upstreams:
  v1: { targets: [{{V1}}] }
  v2: { targets: [{{V2}}] }
services:
  users:
    match: { path_prefix: / }
    default: v1
    fallback: true
    versions:
      v1: { upstream: v1 }
      v2: { upstream: v2 }
    rollout: { from: v1, to: v2, weight: 100 }
`

func TestE2EFallback(t *testing.T) {
	v1 := testutil.VersionServer(t, "v1")
	var v2hits atomic.Int64
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v2hits.Add(1)
		io.Copy(io.Discard, r.Body)
		http.Error(w, "broken", http.StatusInternalServerError)
	}))
	t.Cleanup(failing.Close)

	t.Run("dead to: GETs and POSTs fall back", func(t *testing.T) {
		tt := testutil.Start(t, fallbackYAML, map[string]string{"V1": v1.URL, "V2": deadURL(t)})
		for i := 0; i < 20; i++ {
			status, served, body := testutil.Get(t, http.DefaultClient, tt.URL+"/users/1")
			if status != 200 || served != "v1" || !strings.Contains(body, `"turnout_version":"v1"`) {
				t.Fatalf("GET %d: %d %q %s", i, status, served, body)
			}
		}
		// A connect failure never reached the upstream: even a POST is retried.
		resp, err := http.Post(tt.URL+"/users", "application/json", strings.NewReader(`{"a":1}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("X-Served-Version") != "v1" {
			t.Fatalf("POST to dead to: %d %s", resp.StatusCode, resp.Header.Get("X-Served-Version"))
		}
	})

	t.Run("5xx to: idempotent retried, POST not", func(t *testing.T) {
		tt := testutil.Start(t, fallbackYAML, map[string]string{"V1": v1.URL, "V2": failing.URL})
		req, _ := http.NewRequest(http.MethodPut, tt.URL+"/users/1", strings.NewReader("small body"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("X-Served-Version") != "v1" {
			t.Fatalf("PUT: %d %s %s", resp.StatusCode, resp.Header.Get("X-Served-Version"), b)
		}
		before := v2hits.Load()
		resp, err = http.Post(tt.URL+"/users", "text/plain", strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 500 || v2hits.Load() != before+1 {
			t.Fatalf("POST answered 5xx must not be retried: %d, v2 hits %d", resp.StatusCode, v2hits.Load()-before)
		}
		// A body larger than limits.fallback_body streams through, no retry.
		big := strings.Repeat("x", 4096)
		req, _ = http.NewRequest(http.MethodPut, tt.URL+"/users/1", strings.NewReader(big))
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 500 {
			t.Fatalf("large PUT: %d, want the 500 unretried", resp.StatusCode)
		}
	})

	t.Run("pinned requests are not moved", func(t *testing.T) {
		tt := testutil.Start(t, fallbackYAML, map[string]string{"V1": v1.URL, "V2": failing.URL})
		status, _, _ := testutil.Get(t, http.DefaultClient, tt.URL+"/users/1", "X-API-Version: v2")
		if status != 500 {
			t.Fatalf("pinned v2 got %d, want the upstream's 500", status)
		}
	})
}

const reloadYAML = `
upstreams:
  v1: { targets: [{{V1}}] }
  v2: { targets: [{{V2}}] }
services:
  users:
    match: { path_prefix: / }
    default: v1
    versions:
      v1: { upstream: v1 }
      v2: { upstream: v2 }
    rollout: { from: v1, to: v2, weight: {{WEIGHT}} }
`

// TestE2EReloadUnderLoad reloads 20 times (file rewrite + admin API) while a
// bounded client loop runs, and requires zero failed requests.
func TestE2EReloadUnderLoad(t *testing.T) {
	v1 := testutil.VersionServer(t, "v1")
	v2 := testutil.VersionServer(t, "v2")
	vars := map[string]string{"V1": v1.URL, "V2": v2.URL, "WEIGHT": "0"}
	tt := testutil.Start(t, reloadYAML, vars)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100000 && ctx.Err() == nil; i++ {
				resp, err := client.Get(tt.URL + "/users/1")
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != 200 {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				ok.Add(1)
			}
		}()
	}
	admin := &http.Client{Timeout: 10 * time.Second}
	for i := 1; i <= 20; i++ {
		vars["WEIGHT"] = fmt.Sprint(i * 5)
		tt.Rewrite(t, reloadYAML, vars)
		resp, err := admin.Post(tt.AdminURL+"/api/v1/reload", "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("reload %d: %d", i, resp.StatusCode)
		}
		want := float64(i * 5)
		testutil.Eventually(t, 5*time.Second, "weight applied", func() bool {
			return tt.App.Configs.Snapshot().Table.Service("users").Rollout.Weight == want
		})
		served := ok.Load() + failed.Load()
		testutil.Eventually(t, 10*time.Second, "requests on the new table", func() bool {
			return ok.Load()+failed.Load() >= served+4
		})
	}
	cancel()
	wg.Wait()
	t.Logf("requests: %d ok, %d failed during 20 reloads", ok.Load(), failed.Load())
	if failed.Load() != 0 {
		t.Fatalf("%d requests failed during reloads; first: %v", failed.Load(), firstErr.Load())
	}
	if ok.Load() < 100 {
		t.Fatalf("only %d requests ran", ok.Load())
	}
}

// TestE2EInvalidReloadKeepsServing breaks the file on disk: the watcher, the
// admin API and SIGHUP all reject it with FILE:LINE:COL errors and the last
// good table keeps serving.
func TestE2EInvalidReloadKeepsServing(t *testing.T) {
	v1 := testutil.VersionServer(t, "v1")
	v2 := testutil.VersionServer(t, "v2")
	vars := map[string]string{"V1": v1.URL, "V2": v2.URL, "WEIGHT": "100"}
	tt := testutil.Start(t, reloadYAML, vars)
	before := tt.App.Configs.Snapshot()
	// rejected counts the configuration rejections recorded from source.
	rejected := func(source string) int {
		evs, err := tt.App.Store.Events(store.EventQuery{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, ev := range evs {
			if ev.Type == "config_rejected" && ev.Actor == source {
				n++
			}
		}
		return n
	}

	broken := strings.Replace(reloadYAML, "weight: {{WEIGHT}}", "weight: {{WEIGHT}}, bogus: 1", 1)
	vars["WEIGHT"] = "0"
	tt.Rewrite(t, broken, vars)
	testutil.Eventually(t, 5*time.Second, "the watcher to reject the broken file", func() bool { return rejected("file") > 0 })
	if tt.App.Configs.Snapshot() != before {
		t.Fatal("the watcher applied an invalid configuration")
	}

	resp, err := http.Post(tt.AdminURL+"/api/v1/reload", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Status string   `json:"status"`
		Errors []string `json:"errors"`
	}
	json.NewDecoder(resp.Body).Decode(&res)
	resp.Body.Close()
	text, _ := os.ReadFile(tt.Path)
	line := 1 + strings.Count(string(text[:strings.Index(string(text), "bogus")]), "\n")
	col := strings.Index(string(text), "bogus") - strings.LastIndex(string(text[:strings.Index(string(text), "bogus")]), "\n")
	want := fmt.Sprintf("%s:%d:%d: ", tt.Path, line, col)
	if resp.StatusCode != http.StatusUnprocessableEntity || len(res.Errors) != 1 ||
		!strings.HasPrefix(res.Errors[0], want) || !strings.Contains(res.Errors[0], `unknown key "bogus"`) {
		t.Fatalf("reload answer %d %+v", resp.StatusCode, res)
	}
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, "SIGHUP's reload to reject the file", func() bool { return rejected("sighup") > 0 })
	if tt.App.Configs.Snapshot() != before {
		t.Fatal("an invalid configuration replaced the running snapshot")
	}
	for i := 0; i < 10; i++ {
		status, served, _ := testutil.Get(t, http.DefaultClient, tt.URL+"/users/1")
		if status != 200 || served != "v2" {
			t.Fatalf("after rejected reload: %d %q, want 200 from v2 (weight 100 kept)", status, served)
		}
	}
	// Fixing the file applies it.
	tt.Rewrite(t, reloadYAML, vars)
	testutil.Eventually(t, 5*time.Second, "fixed file applied", func() bool {
		return tt.App.Configs.Snapshot().Table.Service("users").Rollout.Weight == 0
	})
}
