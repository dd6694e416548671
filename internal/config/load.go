package config

import (
	"fmt"
	"os"
	"reflect"
	"slices"
)

// MaxFileSize bounds the configuration files Load reads.
const MaxFileSize = 64 << 20

// Load reads, decodes, defaults and validates the configuration at path.
// On failure the error is an Errors listing every problem as FILE:LINE:COL;
// Load does no other I/O (it does not resolve addresses or read referenced
// files).
func Load(path string) (*Config, error) {
	data, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// ReadFile reads a configuration file, refusing one larger than
// MaxFileSize; its errors are Errors anchored at the file.
func ReadFile(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, Errors{{Pos: Pos{File: path, Line: 1, Col: 1}, Msg: fmt.Sprintf("cannot read configuration: %v", err)}}
	}
	if st.Size() > MaxFileSize {
		return nil, Errors{{Pos: Pos{File: path, Line: 1, Col: 1}, Msg: fmt.Sprintf("configuration is %d bytes, more than the %d allowed", st.Size(), MaxFileSize)}}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, Errors{{Pos: Pos{File: path, Line: 1, Col: 1}, Msg: fmt.Sprintf("cannot read configuration: %v", err)}}
	}
	return data, nil
}

// Parse decodes, defaults and validates configuration text; file names it in
// error positions.
func Parse(file string, data []byte) (*Config, error) {
	c, err := decode(file, data, true)
	if err != nil {
		return nil, err
	}
	c.applyDefaults(false) // each service got its defaults when it was decoded
	if err := c.Validate(); err != nil {
		return nil, Flatten(err)
	}
	return c, nil
}

// Decode only decodes configuration text strictly, without defaults or
// validation. It reports every decoding problem, not just the first.
func Decode(file string, data []byte) (*Config, error) { return decode(file, data, false) }

// decode is Decode; with defaults, every service gets its defaults as soon
// as it is decoded (while it is in the processor's cache).
func decode(file string, data []byte, defaults bool) (*Config, error) {
	root, aliases, perr := parseYAML(file, data)
	if perr != nil {
		return nil, Errors{perr}
	}
	c := &Config{File: file}
	d := newDecoder(file, root, aliases)
	d.defaults = defaults
	d.src = string(data)
	if defaults && (root.nodes[0].kind == 0 || isNull(&root.nodes[0])) {
		// Parse refuses what Decode, reading a fragment, accepts.
		return nil, Errors{&Error{Pos: Pos{File: file, Line: 1, Col: 1}, Msg: "the configuration is empty: it needs at least upstreams: and services: (see examples/basic.yaml)"}}
	}
	if root.nodes[0].kind != 0 {
		d.decode(&root.nodes[0], reflect.ValueOf(c).Elem(), typeInfoOf(reflect.TypeOf(c).Elem()))
	}
	c.Meta.At = Pos{File: file, Line: 1, Col: 1}
	placeUnwritten(reflect.ValueOf(c).Elem(), c.Meta.At) // an empty document
	c.serviceNames = sortedKeys(c.Services)
	if err := d.errs.err(); err != nil {
		return nil, Flatten(err)
	}
	return c, nil
}

// ApplyDefaults fills in every default SPEC.md documents. It is idempotent.
func (c *Config) ApplyDefaults() { c.applyDefaults(true) }

// applyDefaults is ApplyDefaults, with or without the services'.
func (c *Config) applyDefaults(services bool) {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.Admin.Listen == "" {
		c.Admin.Listen = DefaultAdminListen
	}
	if c.Admin.TokenEnv == "" {
		c.Admin.TokenEnv = DefaultTokenEnv
	}
	if c.State == "" {
		c.State = "memory"
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.Format == "" {
		c.Log.Format = "text"
	}
	if c.Limits.FallbackBody == 0 {
		c.Limits.FallbackBody = DefaultFallbackBody
	}
	if c.Limits.MaxInFlight == 0 && !c.Limits.Has("max_in_flight") { // an explicit 0 is no cap
		c.Limits.MaxInFlight = DefaultMaxInFlight
	}
	if t := c.Trust; t != nil {
		if t.Pins == "" {
			t.Pins = PinsAllow
		}
		if s := t.Signature; s != nil {
			if s.Header == "" {
				s.Header = DefaultSignatureHeader
			}
			if s.MaxAge == 0 {
				s.MaxAge = Duration(DefaultSignatureMaxAge)
			}
		}
	}
	if c.Cluster != nil {
		c.Cluster.applyDefaults(&c.Admin)
	}
	if c.Limits.ShutdownGrace == 0 {
		c.Limits.ShutdownGrace = Duration(DefaultShutdownGrace)
	}
	for _, u := range c.Upstreams {
		u.applyDefaults()
	}
	if services {
		for _, s := range c.Services {
			s.applyDefaults()
		}
	}
}

// decoded completes a service decoded as an entry of the services: its
// version names sorted once, and, with defaults, its defaults.
func (s *Service) decoded(defaults bool) {
	s.versionNames = sortedKeys(s.Versions)
	if defaults {
		s.applyDefaults()
	}
}

func (u *Upstream) applyDefaults() {
	if u.Protocol == "" {
		u.Protocol = ProtocolHTTP1
	}
	if u.Timeout == 0 {
		u.Timeout = Duration(DefaultUpstreamTO)
	}
	if u.EjectAfter == 0 && !u.Has("eject_after") {
		u.EjectAfter = DefaultEjectAfter
	}
	if u.EjectFor == 0 {
		u.EjectFor = Duration(DefaultEjectFor)
	}
	if u.MaxConnections == 0 && !u.Has("max_connections") && !u.IsTCP() { // an explicit 0 is no cap
		u.MaxConnections = DefaultMaxConnections
	}
	if u.Health != nil && u.Health.Timeout == 0 {
		u.Health.Timeout = Duration(DefaultHealthTimeout)
	}
}

// defaultSources and defaultStrip are the negotiation defaults every
// service without its own shares: a Config is read-only once loaded.
var (
	defaultSources     = []string{SourceHeader, SourceAccept, SourcePath, SourceQuery}
	defaultBodySources = []string{SourceHeader, SourceAccept, SourcePath, SourceQuery, SourceBody}
	defaultStrip       = true
)

func (s *Service) applyDefaults() {
	if s.Protocol == "" {
		s.Protocol = ServiceHTTP
	}
	if s.IsQN() {
		s.applyQNDefaults()
	}
	n := &s.Negotiate
	switch {
	case len(n.Sources) > 0:
	case n.Body != "":
		n.Sources = defaultBodySources[:len(defaultBodySources):len(defaultBodySources)] // shared, read-only
	default:
		n.Sources = defaultSources[:len(defaultSources):len(defaultSources)] // shared, read-only
	}
	if n.Body != "" && n.MaxBody == 0 {
		n.MaxBody = DefaultNegotiateBody
	}
	if n.Header == "" {
		n.Header = DefaultHeader
	}
	if n.Query == "" {
		n.Query = DefaultQuery
	}
	if n.StripPathVersion == nil {
		n.StripPathVersion = &defaultStrip // shared, read-only
	}
	if s.Match.PathPrefix == "" {
		s.Match.PathPrefix = "/"
	}
	for _, v := range s.Versions {
		if v.Lifecycle == "" {
			v.Lifecycle = LifecycleActive
		}
	}
	if r := s.Rollout; r != nil {
		a := &r.Analysis
		if a.Window == 0 {
			a.Window = Duration(DefaultWindow)
		}
		if a.Interval == 0 {
			a.Interval = Duration(DefaultInterval)
		}
		if !a.Has("min_requests") {
			a.MinRequests = DefaultMinRequests
		}
		if a.Source == "" {
			a.Source = AnalysisTurnout
		}
		if a.Judge == "" {
			a.Judge = JudgeThreshold
		}
		if r.OnFailure == "" {
			r.OnFailure = "rollback"
		}
	}
	if c := s.Contract; c != nil && c.MaxBody == 0 {
		c.MaxBody = DefaultContractBody
	}
	if m := s.Mirror; m != nil {
		if m.MaxBody == 0 {
			m.MaxBody = DefaultMirrorBody
		}
		if m.Timeout == 0 {
			m.Timeout = Duration(DefaultMirrorTimeout)
		}
		if !m.Has("percent") {
			m.Percent = 100
		}
		if len(m.Methods) == 0 {
			m.Methods = []string{"GET", "HEAD", "OPTIONS"}
		}
	}
}

// ServiceNames returns the service names sorted (a new slice each time).
func (c *Config) ServiceNames() []string {
	if len(c.serviceNames) == len(c.Services) && c.serviceNames != nil {
		return slices.Clone(c.serviceNames)
	}
	return sortedKeys(c.Services)
}

// UpstreamNames returns the upstream names sorted.
func (c *Config) UpstreamNames() []string { return sortedKeys(c.Upstreams) }

// VersionNames returns the service's version names sorted. The slice is
// shared (Decode sorts the names once): callers must not modify it.
func (s *Service) VersionNames() []string {
	if len(s.versionNames) == len(s.Versions) && s.versionNames != nil {
		return s.versionNames[:len(s.versionNames):len(s.versionNames)]
	}
	return sortedKeys(s.Versions)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
