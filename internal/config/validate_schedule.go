package config

import (
	"fmt"
	"time"
)

// validateSchedule checks a version's schedule and hold_while: each step
// has a time and a known lifecycle, the steps are in strictly increasing
// time order, a redirect step has a successor to redirect to, and
// hold_while has a positive request count and window and guards a
// schedule.
func (v *Version) validateSchedule() error {
	var col collector
	var prev time.Time
	for i, st := range v.Schedule {
		at := fmt.Sprintf("schedule[%d]", i)
		if st == nil {
			col.add(&Error{Pos: v.PosOf("schedule"), Msg: at + ": empty step; write {at: 2027-04-01, lifecycle: gone}"})
			continue
		}
		var sc collector
		switch st.Lifecycle {
		case LifecycleActive, LifecycleDeprecated, LifecycleRedirect, LifecycleGone:
		case "":
			sc.add(st.missing("lifecycle", "required: the lifecycle the version takes at this step (active, deprecated, redirect or gone)"))
		default:
			sc.add(st.problem("lifecycle", "%q is not a lifecycle; use active, deprecated, redirect or gone", st.Lifecycle))
		}
		if st.Lifecycle == LifecycleRedirect && v.Successor == "" {
			sc.add(st.problem("lifecycle", "redirect needs the version's successor: set successor: VERSION on this version"))
		}
		switch {
		case st.At == nil:
			sc.add(st.missing("at", "required: when the step is due (RFC 3339, or a date YYYY-MM-DD meaning 00:00 UTC)"))
		case !prev.IsZero() && !st.At.After(prev):
			sc.add(st.problem("at", "%s is not after the previous step's %s; list the steps in time order",
				st.At.UTC().Format(time.RFC3339), prev.UTC().Format(time.RFC3339)))
		}
		if st.At != nil {
			prev = st.At.Time
		}
		col.add(nest(at, sc.err()))
	}
	if h := v.HoldWhile; h != nil {
		var hc collector
		if h.Requests < 1 {
			hc.add(h.problem("requests", "%d: must be at least 1 (the step is held while the version saw at least this many requests in the window)", h.Requests))
		}
		if h.Window <= 0 {
			hc.add(h.problem("window", "required and positive: how far back requests hold a step, e.g. 10m"))
		}
		if len(v.Schedule) == 0 {
			col.add(&Error{Pos: v.KeyPos("hold_while"), Msg: "hold_while: holds the steps of a schedule; this version has none (add schedule: [{at: DATE, lifecycle: gone}])"})
		}
		col.add(nest("hold_while", hc.err()))
	}
	return col.err()
}

// scheduledToStop reports whether v's schedule has a step after which it
// no longer serves requests (redirect or gone), and the first one.
func (v *Version) scheduledToStop() (*ScheduleStep, bool) {
	for _, st := range v.Schedule {
		if st != nil && Holds(st.Lifecycle) {
			return st, true
		}
	}
	return nil, false
}

// validateScheduledDefault refuses a default version whose schedule stops
// serving it: every request that names no version would then be answered
// 410 or 308.
func (s *Service) validateScheduledDefault() error {
	v := s.Versions[s.Default]
	if v == nil {
		return nil
	}
	if st, ok := v.scheduledToStop(); ok {
		return s.problem("default", "version %q is scheduled to become %s (versions.%s.schedule); the default must keep serving: make another version the default first",
			s.Default, st.Lifecycle, s.Default)
	}
	return nil
}

// scheduledRedirect reports whether a step of v's schedule redirects it.
func (v *Version) scheduledRedirect() bool {
	for _, st := range v.Schedule {
		if st != nil && st.Lifecycle == LifecycleRedirect {
			return true
		}
	}
	return false
}
