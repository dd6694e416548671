package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestInProcess runs the example on 127.0.0.1:0 and checks that both
// services route: a pinned request, the coloured request reaching v2 of
// both services, and the admin API at /turnout/.
func TestInProcess(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, "turnout.yaml", "127.0.0.1:0", "127.0.0.1:0", func(h, _ string) { addrs <- h })
	}()
	var base string
	select {
	case h := <-addrs:
		base = "http://" + h
	case err := <-done:
		t.Fatal(err)
	case <-time.After(10 * time.Second):
		t.Fatal("not ready")
	}
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	cases := []struct {
		header, value string
		want          user
	}{
		{"X-API-Version", "2", user{Version: "v2", ID: "1", Display: "Ada L.", Reason: "pinned"}},
		{"X-API-Version", "1", user{Version: "v1", ID: "1", Name: "Ada Lovelace", Reason: "pinned"}},
		{"X-Env", "canary", user{Version: "v2", ID: "1", Display: "Ada L.", Greeter: "v2", Reason: "rule"}},
	}
	for _, tc := range cases {
		req, _ := http.NewRequest(http.MethodGet, base+"/users/1", nil)
		req.Header.Set(tc.header, tc.value)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var got user
		_ = json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if tc.want.Greeter == "" {
			got.Greeter = "" // decided by the greeter's own split
		}
		if resp.StatusCode != 200 || got != tc.want || resp.Header.Get("X-Served-Version") != tc.want.Version {
			t.Errorf("%s: %s: %d %+v, want %+v", tc.header, tc.value, resp.StatusCode, got, tc.want)
		}
	}
	resp, err := http.Get(base + "/turnout/api/v1/rollouts")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"greeter"`) || !strings.Contains(string(body), `"users"`) {
		t.Errorf("admin API: %d %s", resp.StatusCode, body)
	}
}
