package gateway_test

// A version read from the JSON request body (negotiate.body) through a
// real gateway listener, over HTTP/1.1 and h2c: the whole body always
// reaches the upstream as the client sent it.

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/testutil"
)

const bodyPinYAML = `
limits: { request_body_timeout: 500ms, fallback_body: 1KiB }
upstreams:
  v1: { targets: [{{V1}}] }
  v2: { targets: [{{V2}}] }
services:
  orders:
    match: { path_prefix: /orders }
    negotiate: { sources: [header, body], body: /api_version, max_body: 1KiB }
    default: v1
    versions:
      v1: { upstream: v1 }
      v2: { upstream: v2 }
`

// echoUpstream answers every request with the body it received, whole,
// and its version in X-Upstream-Version; started tells of each request
// as its handler begins (before it reads the body).
func echoUpstream(t *testing.T, version string, started chan<- struct{}) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if started != nil {
			select {
			case started <- struct{}{}:
			default:
			}
		}
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		w.Header().Set("X-Upstream-Version", version)
		_, _ = w.Write(b)
	}))
	t.Cleanup(s.Close)
	return s
}

// protocols are the client protocols the cases run over.
func protocols() map[string]*http.Client {
	h2 := new(http.Protocols)
	h2.SetUnencryptedHTTP2(true)
	return map[string]*http.Client{
		"http1": {Transport: &http.Transport{}, Timeout: 10 * time.Second},
		"h2c":   {Transport: &http.Transport{Protocols: h2}, Timeout: 10 * time.Second},
	}
}

// unsized hides a reader's length, so the client sends the body chunked
// (HTTP/1.1) or without content-length (HTTP/2).
type unsized struct{ io.Reader }

// TestBodyPin: the version in the body decides; a header before it in
// sources wins; a body over max_body, a non-JSON body and malformed JSON
// carry no version (the default serves them); a version of the wrong type
// is 400, an unknown one 406; every body reaches the upstream whole.
func TestBodyPin(t *testing.T) {
	v1, v2 := echoUpstream(t, "v1", nil), echoUpstream(t, "v2", nil)
	tt := testutil.Start(t, bodyPinYAML, map[string]string{"V1": v1.URL, "V2": v2.URL})
	big := `{"api_version": "2", "pad": "` + strings.Repeat("x", 3<<10) + `"}`
	cases := []struct {
		name, ct, body string
		header         string
		sized          bool
		status         int
		served         string
	}{
		{"string", "application/json", `{"api_version": "2", "items": [1, 2, 3]}`, "", true, 200, "v2"},
		{"number", "application/json; charset=utf-8", `{"items": [], "api_version": 2}`, "", true, 200, "v2"},
		{"v-name", "application/vnd.orders+json", `{"api_version": "v2"}`, "", true, 200, "v2"},
		{"chunked", "application/json", `{"api_version": "2"}`, "", false, 200, "v2"},
		{"header first", "application/json", `{"api_version": "2"}`, "1", true, 200, "v1"},
		{"absent", "application/json", `{"name": "ada"}`, "", true, 200, "v1"},
		{"over max_body", "application/json", big, "", true, 200, "v1"},
		{"over max_body chunked", "application/json", big, "", false, 200, "v1"},
		{"not JSON", "text/plain", `{"api_version": "2"}`, "", true, 200, "v1"},
		{"malformed JSON", "application/json", `{"api_version": "2", "x": }`, "", true, 200, "v1"},
		{"wrong type", "application/json", `{"api_version": true}`, "", true, 400, ""},
		{"unknown version", "application/json", `{"api_version": "9"}`, "", true, 406, ""},
	}
	for proto, c := range protocols() {
		for _, tc := range cases {
			t.Run(proto+"/"+tc.name, func(t *testing.T) {
				var body io.Reader = strings.NewReader(tc.body)
				if !tc.sized {
					body = unsized{body}
				}
				req, err := http.NewRequest(http.MethodPost, tt.URL+"/orders", body)
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Content-Type", tc.ct)
				if tc.header != "" {
					req.Header.Set("X-API-Version", tc.header)
				}
				resp, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				got, err := io.ReadAll(resp.Body)
				if err != nil {
					t.Fatal(err)
				}
				if resp.StatusCode != tc.status || resp.Header.Get("X-Upstream-Version") != tc.served {
					t.Fatalf("HTTP/%d %d from %q (%s); want %d from %q", resp.ProtoMajor, resp.StatusCode,
						resp.Header.Get("X-Upstream-Version"), got, tc.status, tc.served)
				}
				if tc.status == 200 && !bytes.Equal(got, []byte(tc.body)) {
					t.Errorf("the upstream got %d bytes %.60q…, want the whole body of %d bytes", len(got), got, len(tc.body))
				}
			})
		}
	}
}

// TestBodyPinStreamsBeyondBound: a body longer than max_body is not held
// for the decision: the upstream begins while the client still holds back
// the rest of it (the gateway kept no more than the bound), and gets it
// whole.
func TestBodyPinStreamsBeyondBound(t *testing.T) {
	started := make(chan struct{}, 1)
	v1, v2 := echoUpstream(t, "v1", started), echoUpstream(t, "v2", nil)
	tt := testutil.Start(t, bodyPinYAML, map[string]string{"V1": v1.URL, "V2": v2.URL})
	for proto, c := range protocols() {
		t.Run(proto, func(t *testing.T) {
			head := `{"api_version": "2", "pad": "` + strings.Repeat("x", 2<<10)
			pr, pw := io.Pipe()
			go func() {
				if _, err := io.WriteString(pw, head); err != nil {
					return
				}
				select { // the rest only once the upstream has begun
				case <-started:
				case <-time.After(8 * time.Second):
					pw.CloseWithError(io.ErrUnexpectedEOF)
					return
				}
				_, _ = io.WriteString(pw, `"}`)
				_ = pw.Close()
			}()
			req, err := http.NewRequest(http.MethodPost, tt.URL+"/orders", pr)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 || resp.Header.Get("X-Upstream-Version") != "v1" || string(got) != head+`"}` {
				t.Fatalf("%d from %q, %d bytes; want 200 from v1 with the whole body (%d bytes)", resp.StatusCode,
					resp.Header.Get("X-Upstream-Version"), len(got), len(head)+2)
			}
		})
	}
}

// TestBodyPinStalledBodyIsTheClients: a JSON body that stalls while it is
// read for its version gets 408 from the body deadline, over HTTP/1.1
// and h2c, and counts against no version.
func TestBodyPinStalledBodyIsTheClients(t *testing.T) {
	v1, v2 := echoUpstream(t, "v1", nil), echoUpstream(t, "v2", nil)
	tt := testutil.Start(t, bodyPinYAML, map[string]string{"V1": v1.URL, "V2": v2.URL})
	for proto, c := range protocols() {
		t.Run(proto, func(t *testing.T) {
			pr, pw := io.Pipe()
			defer pw.Close()
			go func() { _, _ = io.WriteString(pw, `{"api_version": "2", `) }() // then nothing
			req, err := http.NewRequest(http.MethodPost, tt.URL+"/orders", pr)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestTimeout {
				t.Fatalf("HTTP/%d %d, want 408", resp.ProtoMajor, resp.StatusCode)
			}
		})
	}
	for _, v := range []string{"v1", "v2"} {
		if sum := tt.App.Stats.VersionWindow("orders", v, time.Minute, time.Time{}); sum.Requests != 0 || sum.Errors != 0 {
			t.Errorf("%s recorded %d requests, %d errors; a stalled client counts against no version", v, sum.Requests, sum.Errors)
		}
	}
	if got := testutil.Metric(t, tt, `turnout_limit_rejections_total{limit="body_timeout"}`); got != "2" {
		t.Errorf("body_timeout rejections %q, want 2", got)
	}
}
