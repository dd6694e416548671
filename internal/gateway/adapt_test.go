package gateway_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/stats"
	"github.com/turnout-gw/turnout/internal/testutil"
)

// adaptYAML serves v1 clients from the v2-only backend: v1 says /users and
// {name}, v2 says /accounts and {full_name, state}.
const adaptYAML = `
upstreams:
  v2: { targets: [{{V2}}] }
services:
  users:
    match: { path_prefix: /users }
    default: v1
    versions:
      v2: { upstream: v2 }
      v1:
        served_by: v2
        adapt:
          request: |
            .path |= sub("^/users"; "/accounts")
            | if .body != null then .body |= {full_name: .name, state: (if .active then "ACTIVE" else "SUSPENDED" end)} else . end
          response: |
            .body |= (if type == "object" and has("full_name") then {id, name: .full_name, active: (.state == "ACTIVE")} else . end)
            | .headers["x-adapted"] = "v1"
          operations:
            - method: POST
              path: /users/{id}/fail
              request: '.body.n |= (. + "x")'
            - method: GET
              path: /users/{id}/broken
              response: '{{BROKEN}}'
`

// v2Backend is a v2-only users API that records the bodies it received.
type v2Backend struct {
	mu     sync.Mutex
	bodies map[string][]string // path -> bodies received
}

func (b *v2Backend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	b.mu.Lock()
	b.bodies[r.URL.Path] = append(b.bodies[r.URL.Path], string(body))
	b.mu.Unlock()
	switch {
	case strings.HasSuffix(r.URL.Path, "/text"):
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "plain text")
		return
	case strings.HasSuffix(r.URL.Path, "/big"):
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"full_name": "`+strings.Repeat("x", 200)+`"}`)
		return
	}
	if !strings.HasPrefix(r.URL.Path, "/accounts/") {
		http.Error(w, `{"error":"v2 knows only /accounts"}`, http.StatusNotFound)
		return
	}
	if r.Method == http.MethodDelete {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	rec := map[string]any{"id": strings.TrimPrefix(r.URL.Path, "/accounts/"), "full_name": "Ada Lovelace", "state": "ACTIVE", "email": "ada@example.com"}
	if r.Method == http.MethodPut || r.Method == http.MethodPost {
		var in map[string]any
		if err := json.Unmarshal(body, &in); err != nil {
			http.Error(w, `{"error":"bad json"}`, http.StatusBadRequest)
			return
		}
		for k, v := range in {
			rec[k] = v
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(rec)
}

func (b *v2Backend) received(path string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.bodies[path]...)
}

func do(t *testing.T, method, url, body string) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s %s: %d %q is not a JSON object", method, url, resp.StatusCode, raw)
	}
	return resp.StatusCode, resp.Header, m
}

// TestAdaptServesV1FromV2: v1 clients talk to the v2-only backend through
// the adapter and get v1-shaped answers; a failing program answers 502 JSON,
// is counted, and the backend never sees a half-adapted request; the
// requests are v1's in the stats, through v2's upstream.
func TestAdaptServesV1FromV2(t *testing.T) {
	b := &v2Backend{bodies: map[string][]string{}}
	srv := httptest.NewServer(b)
	t.Cleanup(srv.Close)
	vars := map[string]string{"V2": srv.URL, "BROKEN": `error("no v1 shape")`}
	tt := testutil.Start(t, adaptYAML, vars)

	for i := 0; i < 20; i++ {
		status, h, got := do(t, http.MethodGet, tt.URL+"/users/7", "")
		if status != 200 || h.Get("X-Adapted") != "v1" || h.Get("X-Served-Version") != "v1" {
			t.Fatalf("GET: %d %v %v", status, h, got)
		}
		if len(got) != 3 || got["name"] != "Ada Lovelace" || got["active"] != true || got["id"] != "7" {
			t.Fatalf("GET answer %v is not v1-shaped", got)
		}
	}
	status, _, got := do(t, http.MethodPut, tt.URL+"/users/8", `{"name": "Grace Hopper", "active": false}`)
	if status != 200 || got["name"] != "Grace Hopper" || got["active"] != false || len(got) != 3 {
		t.Fatalf("PUT: %d %v", status, got)
	}
	if rec := b.received("/accounts/8"); len(rec) != 1 || !strings.Contains(rec[0], `"full_name":"Grace Hopper"`) || !strings.Contains(rec[0], `"state":"SUSPENDED"`) {
		t.Fatalf("the v2 backend received %q, not a v2-shaped body", rec)
	}

	// A request program failing at run time: 502 JSON, nothing sent.
	status, _, got = do(t, http.MethodPost, tt.URL+"/users/9/fail", `{"n": 1}`)
	if status != http.StatusBadGateway || got["stage"] != "request" || got["version"] != "v1" || !strings.Contains(got["error"].(string), "cannot add") {
		t.Fatalf("failing request program: %d %v", status, got)
	}
	if rec := b.received("/accounts/9/fail"); len(rec) != 0 {
		t.Fatalf("the backend received %q from a failed request program", rec)
	}
	// A response program failing: 502 JSON, not the backend's answer.
	status, _, got = do(t, http.MethodGet, tt.URL+"/users/9/broken", "")
	if status != http.StatusBadGateway || got["stage"] != "response" || got["full_name"] != nil {
		t.Fatalf("failing response program: %d %v", status, got)
	}
	// A client's malformed JSON is the client's: 400, not counted.
	if status, _, _ := do(t, http.MethodPut, tt.URL+"/users/8", `{"name":`); status != http.StatusBadRequest {
		t.Fatalf("malformed body: %d, want 400", status)
	}
	for _, stage := range []string{"request", "response"} {
		line := `turnout_adapt_failures_total{service="users",stage="` + stage + `",version="v1"}`
		if v := testutil.Metric(t, tt, line); v != "1" {
			t.Fatalf("%s = %q, want 1", line, v)
		}
	}
	sum := tt.App.Stats.Window(stats.Key{Service: "users", Version: "v1", Upstream: "v2"}, time.Minute, time.Time{})
	if sum.Requests != 23 || sum.Errors != 2 {
		t.Fatalf("stats of (users, v1, v2) = %+v, want 23 requests with the 2 adapter failures", sum)
	}
	if v2 := tt.App.Stats.VersionWindow("users", "v2", time.Minute, time.Time{}); v2.Requests != 0 {
		t.Fatalf("v1's requests were counted as v2's: %+v", v2)
	}
}

// TestAdaptBrokenProgramAtReload: a program that does not compile is an
// error at its line and column inside the program, and the old
// configuration keeps serving.
func TestAdaptBrokenProgramAtReload(t *testing.T) {
	b := &v2Backend{bodies: map[string][]string{}}
	srv := httptest.NewServer(b)
	t.Cleanup(srv.Close)
	vars := map[string]string{"V2": srv.URL, "BROKEN": `error("no v1 shape")`}
	tt := testutil.Start(t, adaptYAML, vars)
	before := tt.App.Configs.Snapshot()

	vars["BROKEN"] = `.body | {id,, name}`
	tt.Rewrite(t, adaptYAML, vars)
	err := tt.App.Configs.Reload("test")
	// The program is on line 25 of the rewritten file (Rewrite adds no
	// listen lines); its text starts at column 26, after the quote, and
	// the second comma is 12 bytes in.
	if err == nil || !strings.Contains(err.Error(), "turnout.yaml:25:38: services.users.versions.v1.adapt.operations[1].response: invalid jq program") {
		t.Fatalf("reload error %v, want one at the program's second comma", err)
	}
	if tt.App.Configs.Snapshot() != before {
		t.Fatal("a broken program replaced the running configuration")
	}
	status, _, got := do(t, http.MethodGet, tt.URL+"/users/7", "")
	if status != 200 || got["name"] != "Ada Lovelace" {
		t.Fatalf("the old configuration stopped serving: %d %v", status, got)
	}
}

const unadaptableYAML = `
upstreams:
  v2: { targets: [{{V2}}] }
services:
  users:
    match: { path_prefix: /users }
    default: v1
    versions:
      v2: { upstream: v2 }
      v1:
        served_by: v2
        adapt: { max_body: 100, request: '.path |= sub("^/users"; "/accounts")', response: '.body.adapted = true' }
      v0:
        served_by: v2
        adapt: { max_body: 100, on_unadaptable: pass, request: '.path |= sub("^/users"; "/accounts")', response: '.body.adapted = true' }
`

// TestAdaptUnadaptable: bodies that are not JSON or over max_body are
// refused (413 or 415 for a request, the client's; 502 for an answer) or
// passed untouched, per on_unadaptable; never buffered past max_body.
func TestAdaptUnadaptable(t *testing.T) {
	b := &v2Backend{bodies: map[string][]string{}}
	srv := httptest.NewServer(b)
	t.Cleanup(srv.Close)
	tt := testutil.Start(t, unadaptableYAML, map[string]string{"V2": srv.URL})
	big := `{"name": "` + strings.Repeat("y", 200) + `"}`
	send := func(version, method, path, ctype, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, tt.URL+path, strings.NewReader(body))
		req.Header.Set("X-API-Version", version)
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(raw)
	}
	for _, tc := range []struct {
		name, version, method, path, ctype, body string
		status                                   int
		has                                      string
	}{
		{"refuse: request over max_body", "v1", "PUT", "/users/1", "application/json", big, 413, `"stage":"request"`},
		{"refuse: request not JSON", "v1", "PUT", "/users/2", "text/plain", "hi", 415, "not JSON"},
		{"refuse: answer not JSON", "v1", "GET", "/users/3/text", "", "", 502, `"stage":"response"`},
		{"refuse: answer over max_body", "v1", "GET", "/users/3/big", "", "", 502, "larger than max_body"},
		{"pass: answer not JSON", "v0", "GET", "/users/4/text", "", "", 200, "plain text"},
		{"pass: answer over max_body", "v0", "GET", "/users/4/big", "", "", 200, strings.Repeat("x", 200)},
		{"pass: request not JSON", "v0", "PUT", "/users/5/text", "text/plain", "hi", 200, "plain text"},
		{"adapted", "v0", "GET", "/users/6", "", "", 200, `"adapted":true`},
		{"204 keeps no body", "v1", "DELETE", "/users/6", "", "", 204, ""},
		{"no body whatever its type", "v1", "GET", "/users/7", "text/plain", "", 200, `"adapted":true`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := send(tc.version, tc.method, tc.path, tc.ctype, tc.body)
			if status != tc.status || !strings.Contains(body, tc.has) {
				t.Fatalf("%d %s, want %d with %q", status, body, tc.status, tc.has)
			}
		})
	}
	if rec := b.received("/users/5/text"); len(rec) != 1 || rec[0] != "hi" {
		t.Fatalf("a passed request reached the backend as %q, want it untouched", rec)
	}
	for _, p := range []string{"/accounts/1", "/accounts/2", "/users/1", "/users/2"} {
		if rec := b.received(p); len(rec) != 0 {
			t.Fatalf("a refused request reached the backend at %s: %q", p, rec)
		}
	}
	if v := testutil.Metric(t, tt, `turnout_limit_rejections_total{limit="body_bytes"}`); v != "0" {
		t.Fatalf("the adapter's 413 was counted as the body_bytes limit's: %q", v)
	}
	if v := testutil.Metric(t, tt, `turnout_adapt_failures_total{service="users",stage="request",version="v1"}`); v != "" && v != "0" {
		t.Fatalf("the client's refused bodies were counted as adapter failures: %s", v)
	}
}
