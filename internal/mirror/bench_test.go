package mirror_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/mirror"
	"github.com/turnout-gw/turnout/internal/route"
	"github.com/turnout-gw/turnout/internal/testutil"
	"github.com/turnout-gw/turnout/internal/upstream"
)

// benchBody is the 1 KiB JSON document the benchmark upstreams answer with.
var benchBody = testutil.JSONBody

const benchYAML = `
log: { level: error }
upstreams:
  v1: { targets: [{{V1}}] }
  v2: { targets: [{{V2}}] }
services:
  api:
    match: { path_prefix: / }
    default: v1
    versions: { v1: { upstream: v1 }, v2: { upstream: v2 } }
{{MIRROR}}
`

// BenchmarkMirror measures the primary path over real loopback connections
// (as proxy.BenchmarkHandler does) with mirroring off and with every
// request mirrored to v2 and compared as JSON. The workers' copies and
// comparisons run on the same machine: "parallel" (8 clients per CPU)
// saturates the CPU, so its ns/op includes their share of it; "serial" (one
// client) leaves them idle CPU, so its ns/op is close to one client's
// latency. The client never waits for a copy in either.
func BenchmarkMirror(b *testing.B) {
	for _, tc := range []struct{ name, mirror string }{
		{"off", ""},
		{"on100", "    mirror: { to: v2, percent: 100, compare: {} }"},
	} {
		for _, parallel := range []bool{true, false} {
			name := tc.name + "/serial"
			if parallel {
				name = tc.name + "/parallel"
			}
			b.Run(name, func(b *testing.B) { benchMirror(b, tc.mirror, parallel) })
		}
	}
}

func benchMirror(b *testing.B, mirrorBlock string, parallel bool) {
	tt := testutil.Start(b, benchYAML, map[string]string{"V1": testutil.JSONServer(b).URL, "V2": testutil.JSONServer(b).URL, "MIRROR": mirrorBlock})
	tr := &http.Transport{MaxIdleConnsPerHost: 64, MaxIdleConns: 64}
	b.Cleanup(tr.CloseIdleConnections)
	c := &http.Client{Transport: tr}
	get := func() error {
		resp, err := c.Get(tt.URL + "/items")
		if err != nil {
			return err
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err == nil && (resp.StatusCode != 200 || n != int64(len(benchBody))) {
			b.Errorf("status %d, %d bytes", resp.StatusCode, n)
		}
		return err
	}
	if err := get(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	if parallel {
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := get(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	} else {
		for b.Loop() {
			if err := get(); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	if mirrorBlock != "" {
		_, rep := report(b, tt, "api")
		b.ReportMetric(float64(rep.Compared)/float64(b.N), "compared/op")
		b.ReportMetric(float64(rep.Dropped)/float64(b.N), "dropped/op")
	}
}

// BenchmarkMirrorTap measures what mirroring adds on the request's
// goroutine alone: Start (selection, header copy), the tee of a 1 KiB answer
// and Done (the hand-off to the queue). Its workers find no pool and fail
// at once, so the queue never fills.
func BenchmarkMirrorTap(b *testing.B) {
	cfg, err := config.Parse("bench.yaml", []byte(testutil.Expand(benchYAML, map[string]string{
		"V1": "http://127.0.0.1:1", "V2": "http://127.0.0.1:1", "MIRROR": "    mirror: { to: v2, compare: {} }"})))
	if err != nil {
		b.Fatal(err)
	}
	table, err := route.Compile(cfg)
	if err != nil {
		b.Fatal(err)
	}
	m, err := mirror.New(mirror.Options{Pool: func(string) *upstream.Pool { return nil },
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = m.Close(context.Background()) })
	m.Update(cfg)
	req := httptest.NewRequest("GET", "/items", nil)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "bench")
	d := table.Decide(req)
	body := []byte(benchBody)
	buf := make([]byte, 32<<10)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		tap := m.Start(req, &d)
		resp := &http.Response{StatusCode: 200, ContentLength: int64(len(body)),
			Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(bytes.NewReader(body))}
		rc := tap.Response(resp, d.Version)
		for {
			if _, err := rc.Read(buf); err != nil {
				break
			}
		}
		tap.Done(nil)
	}
}
