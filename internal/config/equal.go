package config

import (
	"maps"
	"slices"
)

// SameSpec reports whether s and o are configured alike: the same name and
// every value equal, positions aside and the rollout's weight aside (the
// weight is the one value a routing table re-applies at every compile, from
// the rollout engine). A reload uses it to keep the compiled form of each
// service that did not change. Every field of Service and of the blocks in
// it must be compared here; TestSameSpecComparesEveryField fails for one
// that is not.
func (s *Service) SameSpec(o *Service) bool {
	if s == nil || o == nil {
		return s == o
	}
	return s.Name == o.Name && s.Default == o.Default && s.Fallback == o.Fallback &&
		slices.Equal(s.Match.Hosts, o.Match.Hosts) && s.Match.PathPrefix == o.Match.PathPrefix &&
		s.Negotiate.sameAs(&o.Negotiate) &&
		maps.EqualFunc(s.Versions, o.Versions, (*Version).sameAs) &&
		slices.EqualFunc(s.Rules, o.Rules, (*Rule).sameAs) &&
		samePtr(s.Rollout, o.Rollout, (*Rollout).sameAsButWeight) &&
		samePtr(s.Mirror, o.Mirror, (*Mirror).sameAs) &&
		samePtr(s.Contract, o.Contract, func(a, b *Contract) bool {
			return a.ValidatePercent == b.ValidatePercent && a.MaxBody == b.MaxBody && a.ClientKey == b.ClientKey
		}) &&
		s.Protocol == o.Protocol && s.Listen == o.Listen && samePtr(s.QN, o.QN, (*QNOptions).sameAs) &&
		sameValueBy(s.Limits, o.Limits, func(l *ServiceLimits) int { return l.MaxInFlight }) &&
		samePtr(s.Clients, o.Clients, (*Clients).sameAs)
}

func (q *QNOptions) sameAs(o *QNOptions) bool {
	return q.Grace == o.Grace && q.FirstFrameTimeout == o.FirstFrameTimeout && q.IdleTimeout == o.IdleTimeout &&
		q.ConnectTimeout == o.ConnectTimeout && q.MaxConnections == o.MaxConnections && q.MaxFrame == o.MaxFrame
}

// samePtr compares two optional blocks.
func samePtr[T any](a, b *T, same func(*T, *T) bool) bool {
	if a == nil || b == nil {
		return a == b
	}
	return same(a, b)
}

// sameValueBy compares two optional blocks by a comparable key of each.
func sameValueBy[T any, K comparable](a, b *T, key func(*T) K) bool {
	return samePtr(a, b, func(x, y *T) bool { return key(x) == key(y) })
}

func sameValue[T comparable](a, b *T) bool {
	return samePtr(a, b, func(x, y *T) bool { return *x == *y })
}

func (n *Negotiate) sameAs(o *Negotiate) bool {
	return slices.Equal(n.Sources, o.Sources) && n.Header == o.Header && n.Query == o.Query &&
		n.AcceptVendor == o.AcceptVendor && sameValue(n.StripPathVersion, o.StripPathVersion) &&
		n.Body == o.Body && n.MaxBody == o.MaxBody
}

func (v *Version) sameAs(o *Version) bool {
	if v == nil || o == nil {
		return v == o
	}
	return v.Name == o.Name && v.Upstream == o.Upstream && v.Lifecycle == o.Lifecycle && v.Successor == o.Successor && v.OpenAPI == o.OpenAPI &&
		sameValue(v.Sunset, o.Sunset) && sameValue(v.DeprecatedAt, o.DeprecatedAt) &&
		v.Speaks == o.Speaks && v.Translate == o.Translate && samePtr(v.Fault, o.Fault, (*Fault).sameAs) &&
		v.ServedBy == o.ServedBy && samePtr(v.Adapt, o.Adapt, (*Adapt).sameAs) &&
		slices.EqualFunc(v.Schedule, o.Schedule, func(x, y *ScheduleStep) bool {
			return samePtr(x, y, func(x, y *ScheduleStep) bool { return x.Lifecycle == y.Lifecycle && sameValue(x.At, y.At) })
		}) &&
		sameValueBy(v.HoldWhile, o.HoldWhile, func(h *HoldWhile) [2]int64 { return [2]int64{int64(h.Requests), int64(h.Window)} })
}

func (a *Adapt) sameAs(o *Adapt) bool {
	return a.Request.Source == o.Request.Source && a.Response.Source == o.Response.Source && a.MaxBody == o.MaxBody &&
		a.OnUnadaptable == o.OnUnadaptable && slices.EqualFunc(a.Operations, o.Operations, func(x, y *AdaptOperation) bool {
		return samePtr(x, y, func(x, y *AdaptOperation) bool {
			return x.Method == y.Method && x.Path == y.Path && x.Request.Source == y.Request.Source && x.Response.Source == y.Response.Source
		})
	})
}

func (f *Fault) sameAs(o *Fault) bool {
	return samePtr(f.Delay, o.Delay, func(a, b *FaultDelay) bool { return a.Percent == b.Percent && a.Duration == b.Duration }) &&
		samePtr(f.Abort, o.Abort, func(a, b *FaultAbort) bool { return a.Percent == b.Percent && a.Status == b.Status })
}

func (r *Rule) sameAs(o *Rule) bool {
	if r == nil || o == nil {
		return r == o
	}
	m, n := &r.Match, &o.Match
	return r.Name == o.Name && r.Version == o.Version && samePtr(r.Fault, o.Fault, (*Fault).sameAs) &&
		maps.Equal(m.Header, n.Header) && maps.Equal(m.Cookie, n.Cookie) && maps.Equal(m.Query, n.Query) &&
		m.Host == n.Host && slices.Equal(m.Method, n.Method) && m.PathPrefix == n.PathPrefix && m.Expr == n.Expr &&
		sameValueBy(m.ClientCert, n.ClientCert, func(c *ClientCertMatch) [2]string { return [2]string{c.Subject, c.SAN} }) &&
		samePtr(r.Experiment, o.Experiment, func(a, b *Experiment) bool {
			return a.Sticky == b.Sticky && maps.Equal(a.Arms, b.Arms)
		})
}

func (r *Rollout) sameAsButWeight(o *Rollout) bool {
	a, b := &r.Analysis, &o.Analysis
	return r.From == o.From && r.To == o.To && r.Sticky == o.Sticky && slices.Equal(r.Steps, o.Steps) &&
		r.StepInterval == o.StepInterval && r.OnFailure == o.OnFailure && slices.Equal(r.Notify, o.Notify) &&
		r.RequireCompatible == o.RequireCompatible &&
		a.Window == b.Window && a.Interval == b.Interval && a.MinRequests == b.MinRequests &&
		sameValue(a.MaxErrorRate, b.MaxErrorRate) && a.MaxLatencyP95 == b.MaxLatencyP95 &&
		a.MaxLatencyP99 == b.MaxLatencyP99 && sameValue(a.MaxDiffRate, b.MaxDiffRate) &&
		sameValue(a.MaxContractViolationRate, b.MaxContractViolationRate) && a.Relative == b.Relative &&
		sameValue(a.Margin, b.Margin) && a.Source == b.Source && samePtr(a.Prometheus, b.Prometheus, (*Prometheus).sameAs) &&
		a.Judge == b.Judge && sameValue(a.Confidence, b.Confidence) && a.EqualBaseline == b.EqualBaseline
}

func (p *Prometheus) sameAs(o *Prometheus) bool {
	return p.URL == o.URL && p.Timeout == o.Timeout && p.Queries.Requests == o.Queries.Requests &&
		p.Queries.Errors == o.Queries.Errors && p.Queries.LatencyP95 == o.Queries.LatencyP95 &&
		p.Queries.LatencyP99 == o.Queries.LatencyP99
}

func (m *Mirror) sameAs(o *Mirror) bool {
	return m.To == o.To && m.Percent == o.Percent && slices.Equal(m.Methods, o.Methods) && m.MaxBody == o.MaxBody &&
		m.Timeout == o.Timeout && samePtr(m.Compare, o.Compare, func(a, b *Compare) bool {
		return slices.Equal(a.Ignore, b.Ignore) && maps.Equal(a.Tolerance, b.Tolerance) && slices.Equal(a.Headers, b.Headers) &&
			slices.Equal(a.Unordered, b.Unordered) && a.Noise == b.Noise
	})
}
