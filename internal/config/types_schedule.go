package config

import (
	"maps"
	"time"
)

// ScheduleStep is one step of a version's retirement schedule: at At the
// version's lifecycle becomes Lifecycle (internal/lifecycle applies it,
// unless HoldWhile holds it).
type ScheduleStep struct {
	Meta `yaml:"-"`
	// At is when the step is due: RFC 3339, or a date meaning 00:00 UTC.
	At        *Time  `yaml:"at"`
	Lifecycle string `yaml:"lifecycle"` // active | deprecated | redirect | gone
}

// HoldWhile holds a schedule step that stops serving a version (redirect,
// gone) while the version saw at least Requests requests in the last
// Window.
type HoldWhile struct {
	Meta     `yaml:"-"`
	Requests int      `yaml:"requests"`
	Window   Duration `yaml:"window"`
}

// Holds reports whether a step to lifecycle l is one hold_while holds: a
// step after which the version no longer serves its clients.
func Holds(l string) bool { return l == LifecycleRedirect || l == LifecycleGone }

// DueAt returns the time step i of v's schedule is due, the zero time when
// there is no such step.
func (v *Version) DueAt(i int) time.Time {
	if i < 0 || i >= len(v.Schedule) || v.Schedule[i] == nil || v.Schedule[i].At == nil {
		return time.Time{}
	}
	return v.Schedule[i].At.Time
}

// WithLifecycles returns cfg with the lifecycles of over (service ->
// version -> lifecycle) in place of the configured ones: a shallow copy
// whose overridden services and versions are copies; cfg is not modified
// and shares everything else. It returns cfg itself when over changes
// nothing.
func (c *Config) WithLifecycles(over map[string]map[string]string) *Config {
	var out *Config
	for svc, vs := range over {
		sc := c.Services[svc]
		if sc == nil {
			continue
		}
		var ns *Service
		for name, l := range vs {
			v := sc.Versions[name]
			if v == nil || v.Lifecycle == l {
				continue
			}
			if ns == nil {
				cp := *sc
				cp.Versions = maps.Clone(sc.Versions)
				ns = &cp
			}
			nv := *v
			nv.Lifecycle = l
			ns.Versions[name] = &nv
		}
		if ns == nil {
			continue
		}
		if out == nil {
			cp := *c
			cp.Services = maps.Clone(c.Services)
			out = &cp
		}
		out.Services[svc] = ns
	}
	if out == nil {
		return c
	}
	return out
}
