package core

import (
	"context"
	"os"
	"time"

	"github.com/turnout-gw/turnout/internal/cluster"
	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/fleetstats"
	"github.com/turnout-gw/turnout/internal/lifecycle"
	"github.com/turnout-gw/turnout/internal/stats"
	"github.com/turnout-gw/turnout/internal/telemetry"
)

// trafficWindow is the span of each member's request count in GET
// /api/v1/cluster (and `turnout cluster status`).
const trafficWindow = time.Minute

// fleetStats makes the Source the leader's analysis reads: this member's
// registry merged with every other live member's windows, pulled over
// their admin ports (cluster.advertise) with the admin token of current's
// admin.token_env, which every member of a fleet must share. Its pulls
// feed the turnout_cluster_stat_pulls metrics. It is also the source of
// the view's per-member traffic.
func (f *fleet) fleetStats(reg *stats.Registry, current func() *config.Config, m *telemetry.Metrics) (*fleetstats.Source, error) {
	src, err := fleetstats.New(f.self.Name, reg, f.liveMembers,
		fleetstats.WithToken(func() string { return os.Getenv(current().Admin.TokenEnv) }),
		fleetstats.WithLogger(f.log))
	if err != nil {
		return nil, err
	}
	f.stats, f.config = src, current
	m.WatchStatPulls(src.Pulls)
	return src, nil
}

// warnUnpullable logs, at start, what keeps the other members from
// reading this member's stats (the leader's analysis then waits, naming
// it): no admin token to pull and answer with, or no advertised URL (a
// middleware without cluster.advertise).
func warnUnpullable(cfg *config.Config, f *fleet) {
	if os.Getenv(cfg.Admin.TokenEnv) == "" {
		f.log.Warn("cluster: no admin token in admin.token_env: members cannot read each other's stats, "+
			"so the leader's analysis waits while other members are live; set the same token on every member",
			"env", cfg.Admin.TokenEnv)
	}
	if f.self.Advertise == "" {
		f.log.Warn("cluster: no advertised admin URL (cluster.advertise): the leader cannot read this member's stats " +
			"and its analysis waits while this member is live; set it to where this member's admin API is served")
	}
}

// liveMembers are the members the runner last read, as the Source asks
// them.
func (f *fleet) liveMembers() []fleetstats.Member {
	r := f.runner.Load()
	if r == nil {
		return nil
	}
	return asSourceMembers(r.Members())
}

func asSourceMembers(ms []cluster.Member) []fleetstats.Member {
	out := make([]fleetstats.Member, len(ms))
	for i, m := range ms {
		out[i] = fleetstats.Member{Name: m.Name, Advertise: m.Advertise}
	}
	return out
}

// addTraffic fills each member's requests over trafficWindow in v, read
// from every member at once (one request each, bounded by the Source's
// timeout): only when someone asks, never published through etcd.
func (f *fleet) addTraffic(v *cluster.View) {
	if f.stats == nil {
		return
	}
	cfg := f.config()
	qs := make([]stats.Query, 0, len(cfg.Services))
	for _, name := range cfg.ServiceNames() {
		qs = append(qs, stats.Query{Service: name, Window: trafficWindow})
	}
	ms := make([]fleetstats.Member, len(v.Members))
	for i, m := range v.Members {
		ms[i] = fleetstats.Member{Name: m.Name, Advertise: m.Advertise}
	}
	for i, a := range f.stats.Each(ms, qs) {
		if a.Err != nil {
			v.Members[i].TrafficError = a.Err.Error()
			continue
		}
		n := a.Requests()
		v.Members[i].Requests = &n
	}
	v.TrafficWindow = trafficWindow.String()
}

// view is GET /api/v1/cluster: the leader, the live members and their
// traffic.
func (f *fleet) view(ctx context.Context) (any, error) {
	r := f.runner.Load()
	if r == nil {
		return nil, errNotStarted
	}
	v, err := r.View(ctx)
	if err != nil {
		return nil, err
	}
	f.addTraffic(&v)
	return v, nil
}

// fleetUsage is what the leader's retirement-schedule guard reads in a
// fleet (lifecycle.FleetUsage): this member's usage tracker plus every
// other live member's, pulled over GET /api/v1/internal/usage within the
// Source's timeout (a second).
type fleetUsage struct {
	local lifecycle.Usage
	f     *fleet
}

// Recent is this member's own usage.
func (u fleetUsage) Recent(service, version string, window time.Duration) (uint64, []string) {
	return u.local.Recent(service, version, window)
}

// RecentFleet is the fleet's usage; an error names the members that did
// not answer.
func (u fleetUsage) RecentFleet(service, version string, window time.Duration) (uint64, []string, error) {
	n, clients := u.local.Recent(service, version, window)
	if u.f.stats == nil {
		return n, clients, nil
	}
	got, err := u.f.stats.RecentUsage(fleetstats.Usage{Requests: n, Clients: clients}, service, version, window)
	return got.Requests, got.Clients, err
}
