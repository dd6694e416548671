//go:build !race

package gateway_test

// The heap measurement runs without the race detector, which changes
// allocation sizes; scripts/test.sh runs it on its own.

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/gateway"
	"github.com/turnout-gw/turnout/internal/testutil"
	"github.com/turnout-gw/turnout/internal/testutil/testclock"
)

// TestServiceMemory bounds the live heap a configured service costs, idle
// and after ten (clock) seconds of traffic to both its versions — what
// bench/run.sh's RSS step runs with 1,000 services, whose RSS is about
// twice the live heap (GOGC) plus the binary. It measures two gateways,
// of memSmall and memSmall+memServices services, so that what does not
// depend on the number of services cancels out.
//
// Measured (bench/run.sh's service: two versions, a rule, a rollout):
// 6,940 bytes idle, about 5 KB of it the decoded configuration with its
// positions, 1.5 KB the compiled route and 1.3 KB the rollout's state;
// 9,570 after the traffic, which adds each version's stats series (about
// 1 KB for ten seconds) and request metrics (about 300 bytes). It was
// 7,630 and 11,470 before the stats index, ring buckets and metrics were
// made smaller.
func TestServiceMemory(t *testing.T) {
	const (
		memSmall    = 20
		memServices = 500
		// The rollout engine's published statuses (status reads never wait
		// for a store or etcd write) cost about 310 bytes per rollout:
		// 7,050 → 7,450 idle, 9,670 → 10,070 after traffic.
		// The usage counts (who calls each version, internal/usage) cost
		// about 750 bytes per service once its two versions were called
		// by one client each: 10,070 → 10,820 after traffic.
		// Idle, the usage tracker's per-service entry (its key, bound and
		// counts, kept across reloads) costs about 210 bytes, and the
		// body source, the schedules and the judge about 220 together:
		// 7,430 → 7,850 (8,030 measured in one fresh-clone run while
		// other builds ran).
		idleLimit = 8200 // bytes per configured service, no traffic
		loadLimit = 11400
	)
	profile := os.Getenv("TURNOUT_MEMPROFILE") // a heap profile of the bigger gateway, every allocation sampled
	if profile != "" {
		runtime.MemProfileRate = 1
	}
	vars := map[string]string{"V1": testutil.VersionServer(t, "v1").URL, "V2": testutil.VersionServer(t, "v2").URL}
	small := measureServices(t, memSmall, vars, "")
	big := measureServices(t, memSmall+memServices, vars, profile)
	idle := float64(big.idle-small.idle) / memServices
	load := float64(big.load-small.load) / memServices
	t.Logf("per configured service: %.0f bytes idle, %.0f bytes after traffic", idle, load)
	if idle > idleLimit {
		t.Errorf("%.0f bytes per idle service, want at most %d", idle, idleLimit)
	}
	if load > loadLimit {
		t.Errorf("%.0f bytes per service after traffic, want at most %d", load, loadLimit)
	}
}

// heapUse is the live heap of one gateway, idle and after traffic.
type heapUse struct{ idle, load int64 }

// measureServices starts a gateway of n services on a fake clock and
// returns its live heap after start and after ten seconds of traffic:
// each second, three requests per service (one pinned to v2 by the
// canary rule). With profile set, it writes a heap profile there after
// the traffic.
func measureServices(t *testing.T, n int, vars map[string]string, profile string) heapUse {
	t.Helper()
	base := liveHeap()
	clock := testclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	tt := testutil.StartWith(t, "state: memory\n"+manyServicesYAML(n, 10), vars, gateway.AppOptions{Now: clock.Now})
	var u heapUse
	u.idle = liveHeap() - base
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	defer client.CloseIdleConnections()
	for range 10 {
		clock.Advance(time.Second)
		for i := range n {
			for j := range 3 {
				req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/s%d/x", tt.URL, i), nil)
				if err != nil {
					t.Fatal(err)
				}
				if j == 0 {
					req.Header.Set("X-Canary", "always")
				}
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("GET /s%d/x: %d", i, resp.StatusCode)
				}
			}
		}
	}
	u.load = liveHeap() - base
	if profile != "" {
		f, err := os.Create(profile)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
			t.Fatal(err)
		}
	}
	runtime.KeepAlive(tt)
	return u
}

// liveHeap returns the bytes of live heap objects after a full collection.
func liveHeap() int64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
