package telemetry

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ClusterSource is what a fleet member (internal/cluster) reports for its
// metrics; every method only reads and is safe for concurrent use.
type ClusterSource interface {
	// Leading reports whether this member leads.
	Leading() bool
	// LeaderChanges counts the changes of leader this member has seen.
	LeaderChanges() uint64
	// MemberCount is the number of live members as last read.
	MemberCount() int
	// Synced is when this member last read or applied the fleet's state,
	// and why it cannot now (nil when in sync).
	Synced() (time.Time, error)
	// NotWritten counts the writes the fleet did not take (another
	// member's change first, not the leader, or unreachable).
	NotWritten() uint64
}

// WatchCluster exposes a fleet member's state:
//
//	turnout_cluster_leader                    1 while this member leads
//	turnout_cluster_leader_changes_total      times one leader replaced another, as seen here
//	turnout_cluster_members                   live members
//	turnout_cluster_in_sync                   1 while the fleet's state is read and watched
//	turnout_cluster_last_sync_timestamp_seconds  when it last was
//	turnout_cluster_writes_not_taken_total    writes the fleet refused
func (m *Metrics) WatchCluster(c ClusterSource) {
	b := func(v bool) float64 {
		if v {
			return 1
		}
		return 0
	}
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "turnout_cluster_leader",
			Help: "1 while this member leads the fleet (runs the rollout steps and analysis)."},
			func() float64 { return b(c.Leading()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "turnout_cluster_leader_changes_total",
			Help: "Changes of the fleet's leader this member has seen."},
			func() float64 { return float64(c.LeaderChanges()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "turnout_cluster_members",
			Help: "Live members of the fleet, as this member last read them."},
			func() float64 { return float64(c.MemberCount()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "turnout_cluster_in_sync",
			Help: "1 while this member reads and watches the fleet's state; 0 while etcd is unreachable (it serves the last state it saw)."},
			func() float64 { _, err := c.Synced(); return b(err == nil) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "turnout_cluster_last_sync_timestamp_seconds",
			Help: "When this member last read or applied the fleet's state (Unix seconds)."},
			func() float64 {
				at, _ := c.Synced()
				if at.IsZero() {
					return 0
				}
				return float64(at.UnixNano()) / 1e9
			}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "turnout_cluster_writes_not_taken_total",
			Help: "Rollout writes the fleet did not take: another member changed the rollout first, this member does not lead, or etcd was unreachable."},
			func() float64 { return float64(c.NotWritten()) }),
	)
}

// WatchStatPulls exposes the leader's pulls of the other members' stats
// (internal/fleetstats), pulls returning how many were made and how many
// failed since start:
//
//	turnout_cluster_stat_pulls_total          member stats pulls made
//	turnout_cluster_stat_pulls_failed_total   of them, those that failed (no answer in time, refused, garbage)
func (m *Metrics) WatchStatPulls(pulls func() (made, failed uint64)) {
	m.reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "turnout_cluster_stat_pulls_total",
			Help: "Pulls of another member's stats (GET /api/v1/internal/stats) for fleet-wide analysis and per-member traffic."},
			func() float64 { made, _ := pulls(); return float64(made) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "turnout_cluster_stat_pulls_failed_total",
			Help: "Pulls of another member's stats that failed: no answer in time, refused (a wrong or missing admin token) or undecodable; the analysis waits naming the member."},
			func() float64 { _, failed := pulls(); return float64(failed) }),
	)
}
