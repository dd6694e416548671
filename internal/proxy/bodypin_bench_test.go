package proxy_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/turnout-gw/turnout/internal/testutil"
)

const bodyBenchYAML = `
log: { level: error }
upstreams:
  v1: { targets: [{{V1}}] }
  v2: { targets: [{{V2}}] }
services:
  header:
    match: { path_prefix: /header }
    negotiate: { sources: [header] }
    default: v1
    versions: { v1: { upstream: v1 }, v2: { upstream: v2 } }
  body:
    match: { path_prefix: /body }
    negotiate: { sources: [header, body], body: /api_version }
    default: v1
    versions: { v1: { upstream: v1 }, v2: { upstream: v2 } }
`

// BenchmarkBodyPin is the body source's cost per request through the
// whole data plane: the same 1 KiB JSON POST to a service that reads its
// version from the body (body) and to one that does not read it to
// decide (header; the body is pre-read all the same). The difference of
// cpu-µs/op is what reading the version from the body costs.
func BenchmarkBodyPin(b *testing.B) {
	v1, v2 := testutil.JSONServer(b), testutil.JSONServer(b)
	tt := testutil.Start(b, bodyBenchYAML, map[string]string{"V1": v1.URL, "V2": v2.URL})
	doc := []byte(`{"id": 12345, "name": "Ada Lovelace", "api_version": "2", "items": [`)
	for len(doc) < 1<<10-40 {
		doc = append(doc, `{"sku": "x-1", "qty": 1, "ok": true}, `...)
	}
	doc = append(doc, `{"sku": "end"}]}`...)
	for _, path := range []string{"/header", "/body"} {
		b.Run(strings.TrimPrefix(path, "/"), func(b *testing.B) {
			tr := &http.Transport{MaxIdleConnsPerHost: 4}
			b.Cleanup(tr.CloseIdleConnections)
			c := &http.Client{Transport: tr}
			want := "v2"
			if path == "/header" {
				want = "v1"
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(doc)))
			cpu0 := cpuTime()
			for b.Loop() {
				resp, err := c.Post(tt.URL+path+"/orders", "application/json", bytes.NewReader(doc))
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || resp.Header.Get("X-Served-Version") != want {
					b.Fatalf("%d from %q", resp.StatusCode, resp.Header.Get("X-Served-Version"))
				}
			}
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}
