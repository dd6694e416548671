package proxy_test

import (
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/gateway"
	"github.com/turnout-gw/turnout/internal/testutil"
)

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

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
    rules:
      - name: canary
        match: { header: { X-Canary: always } }
        version: v2
    rollout: { from: v1, to: v2, weight: 10 }
`

// BenchmarkHandler measures the whole data plane over real loopback
// connections: a keep-alive client, a running Turnout (header rule + 90/10
// rollout) and two upstreams, all in this process, with each data-plane
// server engine (internal/h1server, and net/http's). It includes the
// client's and the upstreams' cost, so compare runs of it with each other,
// and the bench/ scripts for the proxy's own share; cpu-µs/op is the whole
// process's CPU time (user+system) per request.
func BenchmarkHandler(b *testing.B) {
	for _, e := range []struct{ name, engine string }{{"h1server", "turnout"}, {"nethttp", gateway.EngineNetHTTP}} {
		b.Run("server="+e.name, func(b *testing.B) {
			b.Setenv(gateway.EngineEnv, e.engine)
			benchmarkHandler(b)
		})
	}
}

func benchmarkHandler(b *testing.B) {
	for _, tc := range []struct{ name, header string }{
		{"split", ""},
		{"pin", "X-Canary: always"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			v1, v2 := testutil.JSONServer(b), testutil.JSONServer(b)
			tt := testutil.Start(b, benchYAML, map[string]string{"V1": v1.URL, "V2": v2.URL})
			tr := &http.Transport{MaxIdleConnsPerHost: 64, MaxIdleConns: 64}
			b.Cleanup(tr.CloseIdleConnections)
			c := &http.Client{Transport: tr}
			get := func() error {
				req, _ := http.NewRequest("GET", tt.URL+"/items", nil)
				if tc.header != "" {
					k, v, _ := strings.Cut(tc.header, ": ")
					req.Header.Set(k, v)
				}
				resp, err := c.Do(req)
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
			b.SetParallelism(8)
			b.ResetTimer()
			cpu0 := cpuTime()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := get(); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}
