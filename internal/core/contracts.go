package core

import (
	"fmt"
	"maps"
	"slices"
	"sync/atomic"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/contract"
)

// Contracts are the OpenAPI contracts of one configuration: every version's
// `openapi` document and, for each rollout whose two versions both have
// one, the compatibility report from `from` to `to`. It is immutable once
// built.
type Contracts struct {
	cfg      *config.Config
	services map[string]*ServiceContracts
	docs     []*contract.Document
}

// ServiceContracts is one service's documents and its rollout's report.
type ServiceContracts struct {
	Service string
	// Documents holds the loaded document of each version that has one.
	Documents map[string]*contract.Document
	// From and To are the rollout's versions; Report is nil unless both
	// have a document.
	From, To          string
	RequireCompatible bool
	Report            *contract.Report
}

// Holds reports whether the report holds the rollout pending: it requires
// compatible contracts and the report has breaking (ERR) changes.
func (s *ServiceContracts) Holds() bool {
	return s.RequireCompatible && s.Report != nil && s.Report.Breaking(contract.ERR)
}

// Service returns a service's contracts, nil when none of its versions has
// an OpenAPI document.
func (c *Contracts) Service(name string) *ServiceContracts {
	if c == nil {
		return nil
	}
	return c.services[name]
}

// Services returns the names of the services that have contracts.
func (c *Contracts) Services() []string {
	if c == nil {
		return nil
	}
	return slices.Sorted(maps.Keys(c.services))
}

// Blocker is the rollout engine's Blocker for this configuration: why a
// service's rollout is held pending ("" when it is not).
func (c *Contracts) Blocker(service string) string {
	s := c.Service(service)
	if s == nil || !s.Holds() {
		return ""
	}
	return fmt.Sprintf("require_compatible: the OpenAPI contract of %s breaks clients of %s: %s", s.To, s.From, s.Report.Reason(contract.ERR, 3))
}

// Warnings returns one warning per rollout whose report has breaking
// changes, anchored at the rollout's `to`: what `turnout validate` prints.
func (c *Contracts) Warnings() config.Errors {
	var out config.Errors
	for _, name := range c.Services() {
		s := c.services[name]
		if s.Report == nil || !s.Report.Breaking(contract.ERR) {
			continue
		}
		effect := "require_compatible is off: the rollout proceeds anyway"
		if s.RequireCompatible {
			effect = "require_compatible holds the rollout pending"
		}
		ro := c.cfg.Services[name].Rollout
		out = append(out, &config.Error{Pos: ro.PosOf("to"), Warning: true, Msg: fmt.Sprintf("services.%s.rollout: %s → %s: %s (%s; turnout contract %s %s shows them all)",
			name, s.From, s.To, s.Report.Reason(contract.ERR, 3), effect, s.Report.Old, s.Report.New)})
	}
	return out
}

// Changed reports whether any file a document was read from has changed
// since it was loaded (a reload must then recompute, even when the
// configuration file itself is unchanged).
func (c *Contracts) Changed() bool {
	if c == nil {
		return false
	}
	for _, d := range c.docs {
		if d.Changed() {
			return true
		}
	}
	return false
}

// contractState is the gateway's contracts: the document and report cache,
// the live configuration's contracts, and those of the configuration Apply
// is applying. The rollout engine's Blocker reads it during Apply, so it is
// created before the gateway (see WithContractState).
type contractState struct {
	cache          *contract.Cache
	live, building atomic.Pointer[Contracts]
}

func newContractState() *contractState { return &contractState{cache: contract.NewCache()} }

// withContractState makes the gateway keep its contracts in s.
func withContractState(s *contractState) Option {
	return func(g *Configs) error { g.contracts = s; return nil }
}

// For returns the contracts of cfg when cfg is the configuration being
// applied or the live one, else nil.
func (s *contractState) For(cfg *config.Config) *Contracts {
	for _, c := range []*Contracts{s.building.Load(), s.live.Load()} {
		if c != nil && c.cfg == cfg {
			return c
		}
	}
	return nil
}

// Blocker is the rollout engine's Blocker: contracts that hold cfg's
// service's rollout pending say why.
func (s *contractState) Blocker(cfg *config.Config, service string) string {
	return s.For(cfg).Blocker(service)
}

// Contracts returns the live configuration's contracts.
func (g *Configs) Contracts() *Contracts { return g.contracts.live.Load() }

// ContractPath resolves a version's `openapi` value: a relative path is
// taken relative to the configuration file's directory.
func ContractPath(cfg *config.Config, p string) string { return RelPath(cfg, p) }

// buildContracts loads every version's document through cache and compares
// each rollout's pair. A document that cannot be loaded is a config error
// anchored at its `openapi` key.
func buildContracts(cfg *config.Config, cache *contract.Cache) (*Contracts, error) {
	c := &Contracts{cfg: cfg, services: map[string]*ServiceContracts{}}
	var errs config.Errors
	for _, name := range cfg.ServiceNames() {
		svc := cfg.Services[name]
		var sc *ServiceContracts
		for _, vname := range svc.VersionNames() {
			v := svc.Versions[vname]
			if v == nil || v.OpenAPI == "" {
				continue
			}
			d, err := cache.Load(ContractPath(cfg, v.OpenAPI))
			if err != nil {
				errs = append(errs, v.Errorf("openapi", "services.%s.versions.%s.openapi: %v", name, vname, err))
				continue
			}
			if sc == nil {
				sc = &ServiceContracts{Service: name, Documents: map[string]*contract.Document{}}
				c.services[name] = sc
			}
			sc.Documents[vname] = d
			errs = append(errs, adaptOperationProblems(name, vname, v, d)...)
			c.docs = append(c.docs, d)
		}
		ro := svc.Rollout
		if sc == nil || ro == nil {
			continue
		}
		sc.From, sc.To, sc.RequireCompatible = ro.From, ro.To, ro.RequireCompatible
		old, new := sc.Documents[ro.From], sc.Documents[ro.To]
		if old == nil || new == nil {
			continue
		}
		r, err := cache.Compare(old, new)
		if err != nil {
			errs = append(errs, ro.Errorf("to", "services.%s.rollout: %v", name, err))
			continue
		}
		sc.Report = r
	}
	if len(errs) > 0 {
		errs.Sort()
		return nil, errs
	}
	return c, nil
}

// documents returns a version's document in the live configuration, nil
// when it has none (live.Documents).
func (s *contractState) documents(service, version string) *contract.Document {
	sc := s.live.Load().Service(service)
	if sc == nil {
		return nil
	}
	return sc.Documents[version]
}

// adaptOperationProblems checks the per-operation transforms of version
// vname (adapt.operations) against its OpenAPI document d: each method and
// path template must be one of the document's operations, or the
// transform would never apply.
func adaptOperationProblems(service, vname string, v *config.Version, d *contract.Document) config.Errors {
	if v.Adapt == nil || d == nil || d.Spec == nil || d.Spec.Paths == nil {
		return nil
	}
	var errs config.Errors
	for i, op := range v.Adapt.Operations {
		if op == nil {
			continue
		}
		where := fmt.Sprintf("services.%s.versions.%s.adapt.operations[%d]", service, vname, i)
		pi := d.Spec.Paths.Value(op.Path)
		switch {
		case pi == nil:
			errs = append(errs, op.Errorf("path", "%s.path: %q is not a path of %s's OpenAPI document %s", where, op.Path, vname, v.OpenAPI))
		case pi.GetOperation(op.Method) == nil:
			errs = append(errs, op.Errorf("method", "%s.method: %s %s is not an operation of %s's OpenAPI document %s", where, op.Method, op.Path, vname, v.OpenAPI))
		}
	}
	return errs
}
