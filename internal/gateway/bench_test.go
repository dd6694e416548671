package gateway_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/gateway"
	"github.com/turnout-gw/turnout/internal/testutil"
)

// manyServicesYAML is a configuration of n services on their own path
// prefixes, each with a rule and a rollout at weight.
func manyServicesYAML(n int, weight int) string {
	var b strings.Builder
	b.WriteString("log: { level: error }\nupstreams:\n  v1: { targets: [{{V1}}] }\n  v2: { targets: [{{V2}}] }\nservices:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `  svc%d:
    match: { path_prefix: /s%d }
    default: v1
    versions: { v1: { upstream: v1 }, v2: { upstream: v2 } }
    rules:
      - name: canary
        match: { header: { X-Canary: always } }
        version: v2
    rollout: { from: v1, to: v2, weight: %d }
`, i, i, weight)
	}
	return b.String()
}

// BenchmarkReload measures reading, compiling and swapping in a changed
// configuration of 1,000 and 10,000 services while requests flow, and
// fails if any request fails during the swaps. parse-ms is reading,
// decoding and validating the file; apply-ms is compiling the table,
// provisioning pools, the swap and the reload hooks (rollout engine sync,
// metrics). The file watcher is off so that only these loads run.
func BenchmarkReload(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("services=%d", n), func(b *testing.B) {
			vars := map[string]string{"V1": testutil.VersionServer(b, "v1").URL, "V2": testutil.VersionServer(b, "v2").URL}
			tt := testutil.StartWith(b, manyServicesYAML(n, 10), vars, gateway.AppOptions{})
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			var ok, failed atomic.Int64
			var wg sync.WaitGroup
			client := &http.Client{Timeout: 10 * time.Second}
			for w := 0; w < 2; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < 1_000_000 && ctx.Err() == nil; i++ {
						resp, err := client.Get(fmt.Sprintf("%s/s%d/x", tt.URL, i%10*(n/10)))
						if err == nil {
							_, _ = io.Copy(io.Discard, resp.Body)
							resp.Body.Close()
						}
						if err != nil || resp.StatusCode != 200 {
							failed.Add(1)
							continue
						}
						ok.Add(1)
					}
				}()
			}
			var parse, apply time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				tt.Rewrite(b, manyServicesYAML(n, 20+i%50), vars)
				b.StartTimer()
				t0 := time.Now()
				cfg, err := config.Load(tt.Path)
				if err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				if err := tt.App.Configs.Apply(cfg, "benchmark"); err != nil {
					b.Fatal(err)
				}
				parse += t1.Sub(t0)
				apply += time.Since(t1)
			}
			b.StopTimer()
			b.ReportMetric(float64(parse.Milliseconds())/float64(b.N), "parse-ms/op")
			b.ReportMetric(float64(apply.Milliseconds())/float64(b.N), "apply-ms/op")
			cancel()
			wg.Wait()
			if failed.Load() != 0 {
				b.Fatalf("%d of %d requests failed during %d reloads", failed.Load(), failed.Load()+ok.Load(), b.N)
			}
			if got := tt.App.Configs.Snapshot().Table.Service("svc0").Rollout.Weight; got != float64(20+(b.N-1)%50) {
				b.Fatalf("weight %v after the last reload", got)
			}
		})
	}
}
