package telemetry

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestXDSNacksCounted(t *testing.T) {
	reg := prometheus.NewRegistry()
	x := NewXDSMetrics(reg)
	x.Rejected("grpc", "cluster")
	x.Rejected("grpc", "cluster")
	x.Rejected("envoy", "route")
	if got := testutil.ToFloat64(x.nacks.WithLabelValues("grpc", "cluster")); got != 2 {
		t.Errorf("grpc cluster NACKs = %v, want 2", got)
	}
	if n, err := testutil.GatherAndCount(reg, "turnout_xds_nacks_total"); err != nil || n != 2 {
		t.Errorf("series = %d (%v), want 2", n, err)
	}
}
