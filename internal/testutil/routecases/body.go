package routecases

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

// BodyYAML is the configuration of the body cases: orders reads its
// version from the JSON body's /api_version, after the header, and reads
// at most 1 KiB of a body for it. {{V1}} and {{V2}} are the upstreams'
// URLs (any http URL when the harness serves versions in process).
const BodyYAML = `
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

// BodyVersions are the version names of BodyYAML; a harness serving in
// process registers BodyHandler for each.
var BodyVersions = []string{"v1", "v2"}

// BodyHandler answers every request with the body it received, whole,
// and its version in X-Upstream-Version: the backend of the body cases.
func BodyHandler(version string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		w.Header().Set("X-Upstream-Version", version)
		_, _ = w.Write(b)
	})
}

// BodyPin is one body case: a POST to /orders of Body as ContentType
// (sent chunked, without a length, unless Sized), with X-API-Version
// Header when set, must answer Status from Served ("" for Turnout's own
// answers); a 200 must echo the whole body.
type BodyPin struct {
	Name, ContentType, Body, Header string
	Sized                           bool
	Status                          int
	Served                          string
}

// bigBody is over BodyYAML's max_body, its version first.
var bigBody = `{"api_version": "2", "pad": "` + strings.Repeat("x", 3<<10) + `"}`

// BodyPins are the body cases: the version in the body decides; a header
// before it in sources wins; a body over max_body, a non-JSON body and
// malformed JSON carry no version (the default serves them); a version of
// the wrong type is 400, an unknown one 406.
var BodyPins = []BodyPin{
	{"string", "application/json", `{"api_version": "2", "items": [1, 2, 3]}`, "", true, 200, "v2"},
	{"number", "application/json; charset=utf-8", `{"items": [], "api_version": 2}`, "", true, 200, "v2"},
	{"v-name", "application/vnd.orders+json", `{"api_version": "v2"}`, "", true, 200, "v2"},
	{"chunked", "application/json", `{"api_version": "2"}`, "", false, 200, "v2"},
	{"header first", "application/json", `{"api_version": "2"}`, "1", true, 200, "v1"},
	{"absent", "application/json", `{"name": "ada"}`, "", true, 200, "v1"},
	{"over max_body", "application/json", bigBody, "", true, 200, "v1"},
	{"over max_body chunked", "application/json", bigBody, "", false, 200, "v1"},
	{"not JSON", "text/plain", `{"api_version": "2"}`, "", true, 200, "v1"},
	{"malformed JSON", "application/json", `{"api_version": "2", "x": }`, "", true, 200, "v1"},
	{"wrong type", "application/json", `{"api_version": true}`, "", true, 400, ""},
	{"unknown version", "application/json", `{"api_version": "9"}`, "", true, 406, ""},
}

// unsized hides a reader's length, so that a client sends it chunked
// (HTTP/1.1) or without content-length (HTTP/2).
type unsized struct{ io.Reader }

// RunBodyPins runs every BodyPin against base (the harness's URL, serving
// BodyYAML with BodyHandler backends) with client c.
func RunBodyPins(t *testing.T, c *http.Client, base string) {
	for _, tc := range BodyPins {
		t.Run(tc.Name, func(t *testing.T) {
			var body io.Reader = strings.NewReader(tc.Body)
			if !tc.Sized {
				body = unsized{body}
			}
			req, err := http.NewRequest(http.MethodPost, base+"/orders", body)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", tc.ContentType)
			if tc.Header != "" {
				req.Header.Set("X-API-Version", tc.Header)
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
			if resp.StatusCode != tc.Status || resp.Header.Get("X-Upstream-Version") != tc.Served {
				t.Fatalf("HTTP/%d %d from %q (%.80s); want %d from %q", resp.ProtoMajor, resp.StatusCode,
					resp.Header.Get("X-Upstream-Version"), got, tc.Status, tc.Served)
			}
			if tc.Status == 200 && !bytes.Equal(got, []byte(tc.Body)) {
				t.Errorf("the upstream got %d bytes %.60q…, want the whole body of %d bytes", len(got), got, len(tc.Body))
			}
		})
	}
}
