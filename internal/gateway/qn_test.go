package gateway_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/rollout"
	"github.com/turnout-gw/turnout/internal/testutil"
	"github.com/turnout-gw/turnout/qn"
)

// qnServer answers every DATA frame with an ACK (a NACK while nack is set)
// of the same sequence number carrying kind = name.
func qnServer(t testing.TB, name string, ver qn.Version, nack *atomic.Bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := qn.NewReader(c, qn.Decoder{})
				var out []byte
				for {
					f, err := r.Next()
					if err != nil {
						return
					}
					if f.Type != qn.TypeData {
						continue
					}
					typ := qn.TypeAck
					if nack != nil && nack.Load() {
						typ = qn.TypeNack
					}
					out, _ = qn.Encode(out[:0], qn.Header{Version: ver, Type: typ, Seq: f.Seq}, []qn.Field{{ID: 3, Ver: 1, Value: []byte(name)}})
					if _, err := c.Write(out); err != nil {
						return
					}
				}
			}()
		}
	}()
	return "tcp://" + ln.Addr().String()
}

// qnExchange connects a v1 device, sends n DATA frames with its device_id
// and returns who answered and how many answers were NACKs.
func qnExchange(t testing.TB, addr, id string, n int) (string, int) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	r := qn.NewReader(c, qn.Decoder{})
	who, nacks := "", 0
	for seq := 1; seq <= n; seq++ {
		b, _ := qn.Encode(nil, qn.Header{Version: qn.V1, Type: qn.TypeData, Seq: uint32(seq)}, []qn.Field{{ID: 1, Ver: 1, Value: []byte(id)}})
		if _, err := c.Write(b); err != nil {
			t.Fatal(err)
		}
		f, err := r.Next()
		if err != nil {
			t.Fatalf("device %s: %v", id, err)
		}
		if f.Version != qn.V1 || f.Seq != uint32(seq) {
			t.Fatalf("device %s: answer %+v", id, f.Header)
		}
		k, _ := f.Get(0, 3)
		who = string(k.Value)
		if f.Type == qn.TypeNack {
			nacks++
		}
	}
	return who, nacks
}

const qnRolloutYAML = `
upstreams:
  meters-v1: { targets: [{{V1}}] }
  meters-v2: { targets: [{{V2}}] }
services:
  meters:
    protocol: qn
    listen: 127.0.0.1:0
    default: v1
    versions:
      v1: { upstream: meters-v1, speaks: v1 }
      v2: { upstream: meters-v2, speaks: v2, translate: true }
    rollout:
      from: v1
      to: v2
      weight: 50
      analysis: { window: 10s, interval: 50ms, min_requests: 10, max_error_rate: 0.2 }
    qn: { grace: 100ms }
`

// TestQNRollback: v1 devices move onto a translating v2 server at weight
// 50; when the v2 server starts NACKing, the rollout engine rolls back
// (state rolled_back over the admin API), new connections go to v1, and
// the connections still open on v2 are closed after grace.
func TestQNRollback(t *testing.T) {
	var nack atomic.Bool
	vars := map[string]string{"V1": qnServer(t, "v1", qn.V1, nil), "V2": qnServer(t, "v2", qn.V2, &nack)}
	tt := testutil.Start(t, qnRolloutYAML, vars)
	addr := tt.App.QN.Addr("meters").String()

	// Healthy: devices split between the versions, each v1 device served
	// through translation by v2 without noticing.
	served := map[string]string{}
	for i := range 40 {
		id := fmt.Sprintf("meter-%d", i)
		who, nacks := qnExchange(t, addr, id, 2)
		if nacks != 0 {
			t.Fatalf("NACKs before the fault")
		}
		served[id] = who
	}
	var onV2 []string
	for id, who := range served {
		if who == "v2" {
			onV2 = append(onV2, id)
		}
	}
	if len(onV2) < 5 || len(onV2) > 35 {
		t.Fatalf("%d of 40 devices on v2 at weight 50", len(onV2))
	}
	// A device stays on v2 and keeps its connection open.
	open, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	b, _ := qn.Encode(nil, qn.Header{Version: qn.V1, Type: qn.TypeData, Seq: 1}, []qn.Field{{ID: 1, Ver: 1, Value: []byte(onV2[0])}})
	_, _ = open.Write(b)

	// The fault: v2 NACKs everything. Devices keep sending (the analysis
	// counts samples from the rollout's start, at the stats' resolution).
	nack.Store(true)
	testutil.Eventually(t, 10*time.Second, "rollback", func() bool {
		for _, id := range onV2 {
			qnExchange(t, addr, id, 2)
		}
		st, err := tt.App.Engine.Status("meters")
		return err == nil && st.State == rollout.RolledBack
	})
	resp, err := http.Get(tt.AdminURL + "/api/v1/rollouts/meters")
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		State  string  `json:"state"`
		Weight float64 `json:"weight"`
		Reason string  `json:"reason"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if st.State != rollout.RolledBack || st.Weight != 0 {
		t.Fatalf("admin API: %+v", st)
	}
	// New connections: every device on v1.
	for _, id := range onV2 {
		if who, nacks := qnExchange(t, addr, id, 1); who != "v1" || nacks != 0 {
			t.Fatalf("device %s after rollback: served by %s with %d NACKs", id, who, nacks)
		}
	}
	// The open connection on v2 is closed after grace.
	_ = open.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadAll(open); err != nil && strings.Contains(err.Error(), "timeout") {
		t.Fatal("connection on the rolled-back version still open")
	}

	// The QN metrics are on /metrics.
	resp, err = http.Get(tt.AdminURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`turnout_qn_connections_total{service="meters",version="v2"}`,
		`turnout_qn_frames_total{service="meters",type="NACK",version="v2"}`,
		`turnout_qn_rejected_connections_total{reason="grace",service="meters"} 1`,
		`turnout_rollbacks_total{service="meters"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// The service list shows the QN service with its versions.
	resp, err = http.Get(tt.AdminURL + "/api/v1/services")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	var list struct {
		Services []struct {
			Name     string `json:"name"`
			Protocol string `json:"protocol"`
			Listen   string `json:"listen"`
			Versions []struct {
				Name    string `json:"name"`
				Speaks  string `json:"speaks"`
				Targets []struct {
					URL string `json:"url"`
				} `json:"targets"`
			} `json:"versions"`
			Rollout struct {
				State string `json:"state"`
			} `json:"rollout"`
		} `json:"services"`
	}
	if err := json.Unmarshal(body, &list); err != nil || len(list.Services) != 1 {
		t.Fatalf("/api/v1/services: %v %s", err, body)
	}
	sv := list.Services[0]
	if sv.Name != "meters" || sv.Protocol != "qn" || sv.Listen != "127.0.0.1:0" || sv.Rollout.State != rollout.RolledBack ||
		len(sv.Versions) != 2 || sv.Versions[1].Speaks != "v2" || len(sv.Versions[1].Targets) != 1 || sv.Versions[1].Targets[0].URL != vars["V2"] {
		t.Errorf("/api/v1/services: %s", body)
	}
}

// TestQNTargetHealthInServices: a tcp:// target that refuses connections is
// ejected after eject_after failed dials, and /api/v1/services says so
// while the healthy target keeps serving.
func TestQNTargetHealthInServices(t *testing.T) {
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "tcp://" + dead.Addr().String()
	_ = dead.Close()
	vars := map[string]string{"LIVE": qnServer(t, "v1", qn.V1, nil), "DEAD": deadURL}
	tt := testutil.Start(t, `
upstreams:
  meters-v1: { targets: [{{DEAD}}, {{LIVE}}], eject_after: 1, eject_for: 1h }
services:
  meters:
    protocol: qn
    listen: 127.0.0.1:0
    default: v1
    versions:
      v1: { upstream: meters-v1, speaks: v1 }
`, vars)
	addr := tt.App.QN.Addr("meters").String()
	for i := range 3 {
		if who, nacks := qnExchange(t, addr, fmt.Sprint("m-", i), 1); who != "v1" || nacks != 0 {
			t.Fatalf("served by %q with %d NACKs", who, nacks)
		}
	}
	resp, err := http.Get(tt.AdminURL + "/api/v1/services")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct {
		Services []struct {
			Versions []struct {
				Targets []struct {
					URL     string `json:"url"`
					Healthy bool   `json:"healthy"`
					Ejected bool   `json:"ejected"`
				} `json:"targets"`
			} `json:"versions"`
		} `json:"services"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || len(list.Services) != 1 || len(list.Services[0].Versions) != 1 {
		t.Fatalf("/api/v1/services: %v %+v", err, list)
	}
	got := list.Services[0].Versions[0].Targets
	if len(got) != 2 || got[0].URL != deadURL || got[0].Healthy || !got[0].Ejected || !got[1].Healthy || got[1].Ejected {
		t.Fatalf("targets %+v: want %s ejected and %s healthy", got, deadURL, vars["LIVE"])
	}
}
