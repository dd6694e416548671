package admin

import (
	"errors"
	"net/http"
	"time"

	"github.com/turnout-gw/turnout/internal/lifecycle"
	"github.com/turnout-gw/turnout/internal/route"
	"github.com/turnout-gw/turnout/internal/snapshot"
)

// ServiceList is the body of GET /api/v1/services.
type ServiceList struct {
	Services []ServiceView `json:"services"`
}

// ServiceView is one service as GET /api/v1/services shows it.
type ServiceView struct {
	Name       string         `json:"name"`
	Hosts      []string       `json:"hosts"`
	PathPrefix string         `json:"path_prefix"`
	Default    string         `json:"default"`
	Versions   []VersionView  `json:"versions"`
	Rollout    *RolloutSketch `json:"rollout"`
	// Protocol is http or qn; a qn service has its own Listen address
	// (as configured) and no hosts or path prefix.
	Protocol string `json:"protocol"`
	Listen   string `json:"listen,omitempty"`
}

// VersionView is one version of a service with its upstream's targets.
type VersionView struct {
	Name      string       `json:"name"`
	Upstream  string       `json:"upstream"`
	Lifecycle string       `json:"lifecycle"`
	Successor string       `json:"successor,omitempty"`
	Sunset    *time.Time   `json:"sunset,omitempty"`
	Targets   []TargetView `json:"targets"`
	// Speaks and Translate: the QN version of a qn service's version and
	// whether it translates.
	Speaks    string `json:"speaks,omitempty"`
	Translate bool   `json:"translate,omitempty"`
	// NextStep is the next step of the version's retirement schedule and
	// HoldReason why it waits ("held: v1 still called: ..."); AppliedBy
	// who applied the last step (schedule, force:NAME). Lifecycle is the
	// effective one.
	NextStep   *lifecycle.Step `json:"next_step,omitempty"`
	HoldReason string          `json:"hold_reason,omitempty"`
	AppliedBy  string          `json:"applied_by,omitempty"`
}

// TargetView is one upstream target's health.
type TargetView struct {
	URL     string `json:"url"`
	Healthy bool   `json:"healthy"`
	Ejected bool   `json:"ejected"`
}

// RolloutSketch summarises a service's rollout in the service list. State
// is empty when no rollout engine is wired in.
type RolloutSketch struct {
	From   string  `json:"from"`
	To     string  `json:"to"`
	State  string  `json:"state,omitempty"`
	Weight float64 `json:"weight"`
}

func (a *API) handleServices(w http.ResponseWriter, r *http.Request) {
	snap := a.snapshot()
	if snap == nil || snap.Table == nil {
		WriteError(w, http.StatusServiceUnavailable, errors.New("no routing table loaded yet"))
		return
	}
	writeJSON(w, http.StatusOK, a.services(snap))
}

// services builds the service list from a snapshot; the table keeps its
// services sorted by name.
func (a *API) services(snap *snapshot.Snapshot) ServiceList {
	out := ServiceList{Services: []ServiceView{}}
	for _, s := range snap.Table.Services() {
		sv := ServiceView{Name: s.Name, Hosts: s.Hosts, PathPrefix: s.PathPrefix, Versions: []VersionView{}, Protocol: "http"}
		if s.IsQN() {
			sv.Protocol, sv.Listen, sv.PathPrefix = s.Protocol, s.Listen, ""
		}
		if sv.Hosts == nil {
			sv.Hosts = []string{}
		}
		if s.Default != nil {
			sv.Default = s.Default.Name
		}
		for _, v := range s.Versions {
			vv := a.versionView(v, snap)
			a.scheduleView(s.Name, &vv)
			if sv.Protocol == "qn" {
				vv.Speaks, vv.Translate = v.Speaks, v.Translate
			}
			sv.Versions = append(sv.Versions, vv)
		}
		sv.Rollout = a.rolloutSketch(s)
		out.Services = append(out.Services, sv)
	}
	return out
}

func (a *API) versionView(v *route.Version, snap *snapshot.Snapshot) VersionView {
	vv := VersionView{Name: v.Name, Upstream: v.Upstream, Lifecycle: v.Lifecycle.String(), Targets: []TargetView{}}
	if v.Successor != nil {
		vv.Successor = v.Successor.Name
	}
	if !v.Sunset.IsZero() {
		t := v.Sunset.UTC()
		vv.Sunset = &t
	}
	if p := snap.Pools[v.Upstream]; p != nil {
		for _, ts := range p.Status() {
			vv.Targets = append(vv.Targets, TargetView{URL: ts.URL, Healthy: ts.Healthy, Ejected: ts.Ejected})
		}
	} else if c := snap.Table.Config; c != nil && c.Upstreams[v.Upstream].IsTCP() {
		// tcp:// targets of a qn service: dialled per connection, with
		// passive ejection only.
		if a.qnTarget != nil {
			if ts := a.qnTarget(v.Upstream); ts != nil {
				vv.Targets = ts
				return vv
			}
		}
		for _, t := range c.Upstreams[v.Upstream].Targets {
			vv.Targets = append(vv.Targets, TargetView{URL: t, Healthy: true})
		}
	}
	return vv
}

// rolloutSketch prefers the engine's live state over the table's compiled
// weight; nil when the service has no rollout.
func (a *API) rolloutSketch(s *route.Service) *RolloutSketch {
	if s.Rollout == nil {
		return nil
	}
	rs := &RolloutSketch{Weight: s.Rollout.Weight}
	if s.Rollout.From != nil {
		rs.From = s.Rollout.From.Name
	}
	if s.Rollout.To != nil {
		rs.To = s.Rollout.To.Name
	}
	if a.engine != nil {
		if st, err := a.engine.Status(s.Name); err == nil {
			rs.From, rs.To, rs.State, rs.Weight = st.From, st.To, st.State, st.Weight
		}
	}
	return rs
}
