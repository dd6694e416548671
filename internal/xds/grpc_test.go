package xds

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/route"
	"github.com/turnout-gw/turnout/internal/testutil/grpcecho"
	"github.com/turnout-gw/turnout/internal/testutil/xdsclient"
)

// echoTable compiles xdsclient.EchoYAML against two running backends,
// with the extra old, new replacement pairs applied to its text.
func echoTable(t *testing.T, replace ...string) *route.Table {
	t.Helper()
	v1, v2 := grpcecho.Start(t, "v1"), grpcecho.Start(t, "v2")
	pairs := append([]string{"{{V1}}", v1.Addr, "{{V2}}", v2.Addr, "{{ANALYSIS}}", "{}"}, replace...)
	text := strings.NewReplacer(pairs...).Replace("state: memory\n" + xdsclient.EchoYAML)
	return compileYAML(t, "echo.yaml", text)
}

// startADS runs a Server on 127.0.0.1:0, stopped by t.Cleanup.
func startADS(t *testing.T, opts ...Option) *Server {
	t.Helper()
	s, err := New(append([]Option{WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// TestGRPCClientSplitPinsAndWeights: a real grpc-go xDS client against the
// ADS server and two real backends sees the 90/10 split over 2,000 calls
// within ±2 %, header pins at 100 %, an unknown version refused, and a
// weight change pushed to it.
func TestGRPCClientSplitPinsAndWeights(t *testing.T) {
	table := echoTable(t)
	s := startADS(t)
	if err := s.Update(context.Background(), table); err != nil {
		t.Fatal(err)
	}
	c := xdsclient.Dial(t, s.Addr(), "echo")

	got := xdsclient.Served(t, c, 2000)
	// gRPC's weighted_target picks at random: ± 3 points is 4.5 standard
	// deviations of 2,000 calls at 10 %.
	if share := float64(got["v2"]) / 2000; got["v1"]+got["v2"] != 2000 || share < 0.07 || share > 0.13 {
		t.Fatalf("split at weight 10 over 2000 calls: %v (v2 share %.3f, want 0.10 ± 0.03)", got, float64(got["v2"])/2000)
	}
	t.Logf("weight 10: %v", got)
	for _, v := range []string{"v1", "v2", "2", "V2"} {
		want := "v" + strings.TrimLeft(v, "vV")
		if got := xdsclient.Served(t, c, 100, "x-api-version", v); got[want] != 100 {
			t.Errorf("x-api-version %s: %v, want all %s", v, got, want)
		}
	}
	if got := xdsclient.Served(t, c, 5, "x-api-version", "9"); got["v1"]+got["v2"] != 0 {
		t.Errorf("x-api-version 9 (no such version): %v, want every call refused", got)
	}

	for _, w := range []float64{100, 0} {
		next, err := table.WithWeight("echo", w)
		if err != nil {
			t.Fatal(err)
		}
		want := map[float64]string{100: "v2", 0: "v1"}[w]
		start := time.Now()
		if err := s.Update(context.Background(), next); err != nil {
			t.Fatal(err)
		}
		xdsclient.WaitFor(t, c, 10*time.Second, func(m map[string]int) bool { return m[want] == 20 })
		acked, ok := s.Acked(GRPC, s.Version(GRPC))
		if !ok {
			t.Fatalf("weight %v: the client never acknowledged version %s", w, s.Version(GRPC))
		}
		t.Logf("weight %v: pushed and acknowledged in %v", w, acked.Sub(start))
	}
}

// TestUnchangedTableNoPush: updating with an equal table keeps the version
// (nothing is pushed); a weight change makes a new one.
func TestUnchangedTableNoPush(t *testing.T) {
	table := echoTable(t)
	s := startADS(t)
	for i := 0; i < 2; i++ {
		if err := s.Update(context.Background(), table); err != nil {
			t.Fatal(err)
		}
	}
	v := s.Version(GRPC)
	same, _ := table.WithWeight("echo", 10)
	if err := s.Update(context.Background(), same); err != nil {
		t.Fatal(err)
	}
	if s.Version(GRPC) != v {
		t.Fatalf("an equal table changed the version %s → %s", v, s.Version(GRPC))
	}
	other, _ := table.WithWeight("echo", 11)
	if err := s.Update(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	if s.Version(GRPC) == v {
		t.Fatal("a weight change kept the version")
	}
}
