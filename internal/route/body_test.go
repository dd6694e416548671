package route

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/turnout-gw/turnout/internal/negotiate"
)

const bodyYAML = `
upstreams:
  u1: { targets: [http://127.0.0.1:9001] }
services:
  orders:
    match: { path_prefix: /orders }
    negotiate: { sources: [header, body], body: /api_version, max_body: 1KiB }
    default: v1
    versions: { v1: { upstream: u1 }, v2: { upstream: u1 } }
  users:
    match: { path_prefix: /users }
    default: v1
    versions: { v1: { upstream: u1 }, v2: { upstream: u1 } }
`

func post(target, body, ct string, headers ...string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
	r.Header.Set("Content-Type", ct)
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	return r
}

// TestDecideBody: a service with a body source asks for the body
// (WantsBody, with its bound) only when it could decide; the version in
// Input.Body is pinned like any other source's; a header before it wins;
// services without the source never ask.
func TestDecideBody(t *testing.T) {
	tab := mustTable(t, bodyYAML)
	body := `{"api_version": "2", "name": "ada"}`
	r := post("/orders", body, "application/json")
	if got := tab.WantsBody(r); got != 1<<10 {
		t.Fatalf("WantsBody = %d, want 1024", got)
	}
	d := tab.DecideWith(r, Input{Body: []byte(body)})
	if d.Version.Name != "v2" || d.Reason != ReasonPinned || d.Source != negotiate.SourceBody || d.Requested != "2" || !d.Negotiated() {
		t.Errorf("body pin: %s %s %v %q", d.Version.Name, d.Reason, d.Source, d.Requested)
	}
	if d := tab.Decide(r); d.Version.Name != "v1" || d.Reason != ReasonDefault {
		t.Errorf("without the body: %s %s", d.Version.Name, d.Reason)
	}
	h := post("/orders", body, "application/json", "X-API-Version", "1")
	if got := tab.WantsBody(h); got != 0 {
		t.Errorf("WantsBody with a header pin = %d", got)
	}
	if d := tab.DecideWith(h, Input{Body: []byte(body)}); d.Version.Name != "v1" || d.Source != negotiate.SourceHeader {
		t.Errorf("header precedence: %s %v", d.Version.Name, d.Source)
	}
	for _, bad := range []struct {
		body string
		want int
	}{{`{"api_version": "9"}`, http.StatusNotAcceptable}, {`{"api_version": true}`, http.StatusBadRequest}} {
		d := tab.DecideWith(post("/orders", bad.body, "application/json"), Input{Body: []byte(bad.body)})
		if d.Status != bad.want || !d.Negotiated() {
			t.Errorf("%s: status %d from %v, want %d", bad.body, d.Status, d.Source, bad.want)
		}
	}
	if got := tab.WantsBody(post("/users", body, "application/json")); got != 0 {
		t.Errorf("WantsBody of a service without the body source = %d", got)
	}
	if got := tab.WantsBody(post("/orders", body, "text/plain")); got != 0 {
		t.Errorf("WantsBody of a text body = %d", got)
	}
	big := post("/orders", `{"api_version": "2", "pad": "`+strings.Repeat("x", 2<<10)+`"}`, "application/json")
	if got := tab.WantsBody(big); got != 0 {
		t.Errorf("WantsBody of a body declared over max_body = %d", got)
	}
	if got := mustTable(t, testYAML).WantsBody(post("/users", body, "application/json")); got != 0 {
		t.Errorf("WantsBody of a table without body sources = %d", got)
	}
}
