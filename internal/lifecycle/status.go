package lifecycle

import (
	"fmt"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
)

// Step is a schedule step as the API shows it.
type Step struct {
	At        time.Time `json:"at"`
	Lifecycle string    `json:"lifecycle"`
}

// Status is a version's lifecycle as the API shows it: the effective
// lifecycle, the configured one, the last applied step, the next step and
// why it is held.
type Status struct {
	Service    string `json:"service"`
	Version    string `json:"version"`
	Lifecycle  string `json:"lifecycle"`
	Configured string `json:"configured"`
	// Applied is the last step applied, nil when none.
	Applied *Applied `json:"applied,omitempty"`
	// Next is the first step not applied, nil when none is left; Due says
	// whether its time has come.
	Next *Step `json:"next,omitempty"`
	Due  bool  `json:"due"`
	// Held is set while the guard holds Next: Reason says why, since
	// HeldSince.
	Held      bool      `json:"held"`
	HeldSince time.Time `json:"held_since,omitzero"`
	Reason    string    `json:"reason,omitempty"`
}

// Statuses returns the lifecycle of every version of service that has a
// schedule, sorted by version; nil when there is none.
func (s *Scheduler) Statuses(service string) []Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfg == nil || s.cfg.Services[service] == nil {
		return nil
	}
	sc := s.cfg.Services[service]
	var out []Status
	for _, name := range sc.VersionNames() {
		if v := sc.Versions[name]; v != nil && len(v.Schedule) > 0 {
			out = append(out, s.status(sc, name, v))
		}
	}
	return out
}

// Status returns one version's lifecycle; ok is false when it has no
// schedule.
func (s *Scheduler) Status(service, version string) (Status, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := versionOf(s.cfg, service, version)
	if v == nil || len(v.Schedule) == 0 {
		return Status{}, false
	}
	return s.status(s.cfg.Services[service], version, v), true
}

// status builds a version's Status; s.mu is held.
func (s *Scheduler) status(sc *config.Service, name string, v *config.Version) Status {
	key := recordKey(sc.Name, name)
	st := Status{Service: sc.Name, Version: name, Lifecycle: v.Lifecycle, Configured: v.Lifecycle}
	a, ok := s.applied[key]
	i := position(v, a, ok)
	if i > 0 {
		st.Lifecycle = v.Schedule[i-1].Lifecycle
		cp := a
		st.Applied = &cp
	}
	if i < len(v.Schedule) {
		st.Next = &Step{At: v.DueAt(i), Lifecycle: v.Schedule[i].Lifecycle}
		st.Due = !st.Next.At.After(s.now())
	}
	if h, held := s.held[key]; held && h.step == i {
		st.Held, st.HeldSince, st.Reason = true, h.since, h.reason
	}
	return st
}

// Force applies the version's next step now, whether or not its guard
// holds it: the step that is held, or the next one that is due. A step
// not due yet is refused (ErrNotDue): forcing overrides the guard, not
// the date. The event names actor.
//
// It first follows the steps applied elsewhere (a fleet's leader), so the
// step forced is the fleet's next one, whichever member is asked.
func (s *Scheduler) Force(service, version, actor string) (Status, error) {
	fresh, err := load(s.st)
	if err != nil {
		return Status{}, err
	}
	s.mu.Lock()
	var ch change
	ch.apply = s.follow(fresh)
	v := versionOf(s.cfg, service, version)
	if v == nil || len(v.Schedule) == 0 {
		s.mu.Unlock()
		s.finish(ch) // publish what was followed
		return Status{}, fmt.Errorf("%w: %s %s", ErrNoSchedule, service, version)
	}
	sc := s.cfg.Services[service]
	key := recordKey(service, version)
	a, ok := s.applied[key]
	i := position(v, a, ok)
	if i >= len(v.Schedule) {
		s.mu.Unlock()
		s.finish(ch) // publish what was followed
		return Status{}, fmt.Errorf("%w: %s %s applied its last step (%s)", ErrNoStep, service, version, v.Schedule[i-1].Lifecycle)
	}
	if at := v.DueAt(i); at.After(s.now()) {
		s.mu.Unlock()
		s.finish(ch) // publish what was followed
		return Status{}, fmt.Errorf("%w: %s %s becomes %s at %s", ErrNotDue, service, version, v.Schedule[i].Lifecycle, stamp(at))
	}
	note := "forced"
	if h, held := s.held[key]; held && h.step == i {
		note = "forced over: " + h.reason
	}
	if !s.applyStep(sc, version, v, i, "force:"+actor, note, &ch) {
		s.mu.Unlock()
		s.finish(ch) // publish what was followed
		return Status{}, fmt.Errorf("lifecycle: persisting the forced step of %s %s failed", service, version)
	}
	st := s.status(sc, version, v)
	s.mu.Unlock()
	s.finish(ch)
	return st, nil
}

func versionOf(cfg *config.Config, svc, ver string) *config.Version {
	if cfg == nil || cfg.Services[svc] == nil {
		return nil
	}
	return cfg.Services[svc].Versions[ver]
}
