package route

import (
	"encoding/json"
	"fmt"
	"github.com/turnout-gw/turnout/internal/adapt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/fault"
	"github.com/turnout-gw/turnout/internal/negotiate"
)

// Lifecycle is a version's lifecycle stage.
type Lifecycle uint8

// Lifecycle stages.
const (
	Active Lifecycle = iota
	Deprecated
	Redirect
	Gone
)

// String returns the configuration spelling of the stage.
func (l Lifecycle) String() string {
	return [...]string{"active", "deprecated", "redirect", "gone"}[l]
}

func parseLifecycle(s string) Lifecycle {
	switch s {
	case config.LifecycleDeprecated:
		return Deprecated
	case config.LifecycleRedirect:
		return Redirect
	case config.LifecycleGone:
		return Gone
	}
	return Active
}

// Version is a compiled version of a service. It is immutable.
type Version struct {
	Name      string
	Upstream  string
	Lifecycle Lifecycle
	Successor *Version
	// Sunset and DeprecatedAt are zero when not configured.
	Sunset       time.Time
	DeprecatedAt time.Time

	// Fault is the compiled fault injected into the version's requests, or
	// nil (the proxy applies it; xDS may export it).
	Fault *fault.Spec

	// Speaks is the QN version the upstream speaks as configured ("v1",
	// "v2" or empty; qn services only); Translate lets the version serve
	// devices of the other QN version.
	Speaks    string
	Translate bool

	// ServedBy is the version whose upstream serves this one (Upstream is
	// then that version's), nil when the version has its own; Adapter
	// rewrites its requests and answers (internal/adapt), set with
	// ServedBy. Stats stay the version's own: service, this version, the
	// upstream that served it.
	ServedBy *Version
	Adapter  *adapt.Adapter

	// Precomputed lifecycle header values.
	deprecationHeader string
	sunsetHeader      string
	nameHeader        []string
}

// NameHeader returns []string{v.Name}, shared and read-only, to be put in
// a header map without allocating (X-Turnout-Version, X-Served-Version).
func (v *Version) NameHeader() []string { return v.nameHeader }

// Rollout is the compiled rollout split of a service: unpinned traffic goes
// to To with probability Weight percent, sticky on the key when present.
type Rollout struct {
	From, To *Version
	Weight   float64
	Sticky   StickyKey
	spec     *config.Rollout
	split    Split
}

// Mirror is a service's compiled mirror: a share of its traffic copied to
// a version. It is immutable; Decide selects the requests (mirror.go).
type Mirror struct {
	// To is the version mirrored to, or nil when the configuration names
	// one that is not declared.
	To *Version
	// Percent is the share of requests mirrored, 0 to 100.
	Percent float64
	// Methods are the methods mirrored (upper case; the configuration's
	// default applied).
	Methods []string

	upto uint64 // WeightThreshold(Percent)
	salt uint64 // of the sticky key's bucket
}

// Negotiation is how a service reads a requested version, as configured:
// its sources in order (config.Source*) and the names they read. It is
// immutable.
type Negotiation struct {
	Sources      []string
	Header       string
	Query        string
	AcceptVendor string
	// Body is the JSON Pointer of the version in a JSON request body, ""
	// when the body source is off; MaxBody bounds the body read for it.
	Body    string
	MaxBody int64
}

// Service is a compiled service. It is immutable.
type Service struct {
	Name string
	// Spec is the service as configured. Only this package reads it (and
	// internal/qnproxy's CanServe and Pick until they use Version.Speaks
	// and Translate): the appliers read the compiled fields below.
	Spec *config.Service
	// Versions are sorted by name; their indices match the resolver's.
	Versions []*Version
	Default  *Version
	Rules    []*Rule
	Rollout  *Rollout // nil when the service has no rollout
	// Fallback is the version a failed request is retried on, or nil when
	// fallback is off.
	Fallback *Version

	Hosts      []string
	PathPrefix string
	StripPath  bool

	// Protocol is the service's protocol as configured (config.ServiceHTTP
	// or config.ServiceQN); Listen is a qn service's TCP listen address.
	Protocol string
	Listen   string
	// QN is a qn service's qn block, nil when absent (the defaults apply).
	QN *config.QNOptions
	// Mirror is the service's mirror, nil when it mirrors nothing.
	Mirror *Mirror
	// Negotiation is how the service reads a requested version.
	Negotiation Negotiation

	byName     map[string]*Version
	negotiator *negotiate.Negotiator
	resolver   *negotiate.Resolver
	pathSource bool
	versionsJS []byte // JSON array of version names, for 406 bodies
}

// Version returns the named version or nil.
func (s *Service) Version(name string) *Version { return s.byName[name] }

// Negotiator returns the service's compiled negotiation.
func (s *Service) Negotiator() *negotiate.Negotiator { return s.negotiator }

// IsQN reports whether the service speaks QN (protocol: qn) on its own TCP
// listener rather than HTTP.
func (s *Service) IsQN() bool { return s.Protocol == config.ServiceQN }

// Pos returns the position in the configuration of the value of the
// service's key (for example "fallback"), to anchor a message about it. It
// follows reloads that only moved the service in its file.
func (s *Service) Pos(key string) config.Pos {
	if s.Spec == nil {
		return config.Pos{}
	}
	return s.Spec.PosOf(key)
}

// byNames is what a service compiles from its version names alone, shared
// by the services of one Compile that declare the same names.
type byNames struct {
	resolver   *negotiate.Resolver
	versionsJS []byte
}

func compileService(sc *config.Service, weight float64, shared map[string]*byNames) (*Service, error) {
	s := &Service{
		Name:       sc.Name,
		Spec:       sc,
		byName:     map[string]*Version{},
		PathPrefix: normalizePrefix(sc.Match.PathPrefix),
		StripPath:  sc.Negotiate.StripPathVersion == nil || *sc.Negotiate.StripPathVersion,
		Protocol:   sc.Protocol,
		Listen:     sc.Listen,
		QN:         sc.QN,
		Negotiation: Negotiation{Sources: slices.Clone(sc.Negotiate.Sources), Header: sc.Negotiate.Header,
			Query: sc.Negotiate.Query, AcceptVendor: sc.Negotiate.AcceptVendor,
			Body: sc.Negotiate.Body, MaxBody: int64(sc.Negotiate.MaxBody)},
	}
	for _, h := range sc.Match.Hosts {
		s.Hosts = append(s.Hosts, strings.ToLower(h))
	}
	names := sc.VersionNames()
	for _, name := range names {
		vc := sc.Versions[name]
		v := &Version{Name: name, Upstream: vc.Upstream, Lifecycle: parseLifecycle(vc.Lifecycle), nameHeader: []string{name},
			Fault: fault.Compile(vc.Fault), Speaks: vc.Speaks, Translate: vc.Translate}
		if vc.Sunset != nil {
			v.Sunset = vc.Sunset.Time
			v.sunsetHeader = v.Sunset.UTC().Format(http.TimeFormat)
		}
		if vc.DeprecatedAt != nil {
			v.DeprecatedAt = vc.DeprecatedAt.Time
			v.deprecationHeader = "@" + strconv.FormatInt(v.DeprecatedAt.Unix(), 10)
		} else {
			v.deprecationHeader = "true"
		}
		s.Versions = append(s.Versions, v)
		s.byName[name] = v
	}
	if err := s.compileServedBy(sc); err != nil {
		return nil, err
	}
	for _, v := range s.Versions {
		if succ := sc.Versions[v.Name].Successor; succ != "" {
			v.Successor = s.byName[succ]
			if v.Successor == nil {
				return nil, sc.Versions[v.Name].Errorf("successor", "successor %q is not declared", succ)
			}
		}
	}
	if mc := sc.Mirror; mc != nil {
		s.Mirror = compileMirror(s, mc)
	}
	s.Default = s.byName[sc.Default]
	if s.Default == nil {
		return nil, sc.Errorf("default", "default version %q is not declared", sc.Default)
	}
	key := strings.Join(names, "\x00")
	bn := shared[key]
	if bn == nil {
		bn = &byNames{resolver: negotiate.NewResolver(names)}
		bn.versionsJS, _ = json.Marshal(names)
		shared[key] = bn
	}
	s.versionsJS, s.resolver = bn.versionsJS, bn.resolver

	opts := negotiate.Options{Header: sc.Negotiate.Header, Query: sc.Negotiate.Query, AcceptVendor: sc.Negotiate.AcceptVendor,
		Body: sc.Negotiate.Body, MaxBody: int64(sc.Negotiate.MaxBody)}
	for _, src := range sc.Negotiate.Sources {
		ps, err := negotiate.ParseSource(src)
		if err != nil {
			return nil, sc.Negotiate.Errorf("sources", "%v", err)
		}
		opts.Sources = append(opts.Sources, ps)
	}
	n, err := negotiate.New(opts)
	if err != nil {
		return nil, sc.Negotiate.Errorf("sources", "%v", err)
	}
	s.negotiator = n
	s.pathSource = n.HasSource(negotiate.SourcePath)

	for _, rc := range sc.Rules {
		r, err := compileRule(s, rc)
		if err != nil {
			return nil, err
		}
		s.Rules = append(s.Rules, r)
	}
	if rc := sc.Rollout; rc != nil {
		ro := &Rollout{From: s.byName[rc.From], To: s.byName[rc.To], spec: rc, Sticky: compileSticky(rc.Sticky)}
		if ro.From == nil || ro.To == nil {
			return nil, rc.Errorf("to", "rollout versions %q → %q must both be declared", rc.From, rc.To)
		}
		ro.split = Split{Sticky: ro.Sticky, salt: Salt(s.Name, "rollout", rc.From, rc.To)}
		ro.setWeight(weight)
		s.Rollout = ro
	}
	if sc.Fallback {
		s.Fallback = s.Default
		if s.Rollout != nil {
			s.Fallback = s.Rollout.From
		}
	}
	return s, nil
}

// rebind returns a copy of s, compiled from a configuration that
// SameSpec found equal to sc, that points at sc and splits its rollout at
// weight. What s compiled is shared: it is immutable.
func (s *Service) rebind(sc *config.Service, weight float64) *Service {
	ns := *s
	ns.Spec = sc
	if len(s.Rules) > 0 {
		rules := make([]Rule, len(s.Rules))
		ns.Rules = make([]*Rule, len(s.Rules))
		for i, r := range s.Rules {
			rules[i] = *r
			rules[i].spec = sc.Rules[i]
			ns.Rules[i] = &rules[i]
		}
	}
	if s.Rollout != nil {
		ro := *s.Rollout
		ro.spec = sc.Rollout
		if ro.Weight != weight {
			ro.setWeight(weight)
		}
		ns.Rollout = &ro
	}
	return &ns
}

// setWeight sets the split between from and to. The `to` arm comes first, so
// raising the weight only moves buckets from `from` to `to`.
func (ro *Rollout) setWeight(w float64) {
	ro.Weight = w
	ro.split.Arms = []Arm{
		{Version: ro.To, Weight: w, upto: WeightThreshold(w)},
		{Version: ro.From, Weight: 100 - w, upto: Buckets},
	}
}

// normalizePrefix drops a trailing slash except for the root.
func normalizePrefix(p string) string {
	if p == "" {
		return "/"
	}
	if len(p) > 1 {
		p = strings.TrimRight(p, "/")
		if p == "" {
			p = "/"
		}
	}
	return p
}

// NotAcceptableBody is the JSON body of a 406 answer for a request that
// asked for requested: it lists the versions that exist.
func (s *Service) NotAcceptableBody(requested string) []byte {
	q, _ := json.Marshal(requested)
	return []byte(fmt.Sprintf(`{"error":"no version of %s satisfies the request","requested":%s,"versions":%s}`+"\n", s.Name, q, s.versionsJS))
}

// VersionNames returns the declared version names, sorted.
func (s *Service) VersionNames() []string {
	out := make([]string, len(s.Versions))
	for i, v := range s.Versions {
		out[i] = v.Name
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// compileServedBy points each version served_by another at that version's
// upstream and compiles its adapter.
func (s *Service) compileServedBy(sc *config.Service) error {
	var errs config.Errors
	for _, v := range s.Versions {
		vc := sc.Versions[v.Name]
		if vc.ServedBy == "" {
			continue
		}
		by := s.byName[vc.ServedBy]
		if by == nil || sc.Versions[vc.ServedBy].ServedBy != "" {
			return vc.Errorf("served_by", "served_by %q must name a version with its own upstream", vc.ServedBy)
		}
		a, err := adapt.FromConfig(v.Name, by.Name, vc.Adapt)
		if err != nil {
			for _, e := range config.Flatten(err) {
				e.Msg = "services." + s.Name + ".versions." + v.Name + "." + e.Msg
				errs = append(errs, e)
			}
			continue
		}
		v.ServedBy, v.Upstream, v.Adapter = by, by.Upstream, a
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}
