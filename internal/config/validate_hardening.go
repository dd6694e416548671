package config

import (
	"fmt"
	"net/netip"
	"strings"
)

// Validate checks the trust block: addresses and CIDRs that parse, a known
// pin policy, and a signature with a header name, a key variable and a
// positive max_age. Whether service_pins names declared services is checked
// by Config.validateTrustRefs.
func (t *Trust) Validate() error {
	var col collector
	for i, n := range t.Networks {
		if msg := cidrProblem(n); msg != "" {
			col.add(t.problem(fmt.Sprintf("networks[%d]", i), "%s", msg))
		}
	}
	for i, n := range t.Proxies {
		if msg := cidrProblem(n); msg != "" {
			col.add(t.problem(fmt.Sprintf("proxies[%d]", i), "%s", msg))
		}
	}
	if msg := pinsProblem(t.Pins); msg != "" {
		col.add(t.problem("pins", "%s", msg))
	}
	for _, name := range sortedKeys(t.ServicePins) {
		if msg := pinsProblem(t.ServicePins[name]); msg != "" || t.ServicePins[name] == "" {
			col.add(t.entryProblem("service_pins", name, false, "%q is not a pin policy; use allow or refuse", t.ServicePins[name]))
		}
	}
	for i, k := range t.Strip {
		col.add(checkSticky(&t.Meta, fmt.Sprintf("strip[%d]", i), k))
	}
	if s := t.Signature; s != nil {
		col.add(nest("signature", s.Validate()))
	}
	return col.err()
}

// Validate checks signed colour settings: a header name, the environment
// variable holding the key, and a non-negative max_age.
func (s *Signature) Validate() error {
	var col collector
	if s.Header != "" && !isToken(s.Header) {
		col.add(s.problem("header", "%q is not a header name", s.Header))
	}
	switch {
	case s.KeyEnv == "":
		col.add(s.missing("key_env", "required: the environment variable holding the HMAC key, e.g. TURNOUT_COLOUR_KEY"))
	case !validEnvName(s.KeyEnv):
		col.add(s.problem("key_env", "%q is not an environment variable name (letters, digits and '_', not starting with a digit)", s.KeyEnv))
	}
	return col.err()
}

// cidrProblem says what is wrong with a network: a CIDR or one address.
func cidrProblem(s string) string {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return fmt.Sprintf("%q is not a CIDR such as 10.0.0.0/8 or fd00::/8", s)
		}
		if p.Masked() != p {
			return fmt.Sprintf("%q has host bits set; write %s", s, p.Masked())
		}
		return ""
	}
	if _, err := netip.ParseAddr(s); err != nil {
		return fmt.Sprintf("%q is neither an address nor a CIDR such as 10.0.0.0/8", s)
	}
	return ""
}

func pinsProblem(p string) string {
	switch p {
	case "", PinsAllow, PinsRefuse:
		return ""
	}
	return fmt.Sprintf("%q is not a pin policy; use allow or refuse", p)
}

// validateTrustRefs checks that service_pins names declared services.
func (c *Config) validateTrustRefs() error {
	if c.Trust == nil {
		return nil
	}
	var col collector
	for _, name := range sortedKeys(c.Trust.ServicePins) {
		if _, ok := c.Services[name]; !ok {
			col.add(nest("trust", c.Trust.entryProblem("service_pins", name, true,
				"service %q is not declared (declared: %s)", name, nameList(c.ServiceNames()))))
		}
	}
	return col.err()
}

// Validate checks a fault: at least one of delay and abort, shares from 0
// to 100, a positive delay up to MaxFaultDelay and an abort status from 400
// to 599.
func (f *Fault) Validate() error {
	var col collector
	if f.Delay == nil && f.Abort == nil {
		col.add(f.missing("abort", "a fault needs delay, abort or both, e.g. abort: {percent: 10, status: 503}"))
	}
	if d := f.Delay; d != nil {
		col.add(nest("delay", checkPercent(&d.Meta, "percent", d.Percent)))
		if d.Duration <= 0 || d.Duration.D() > MaxFaultDelay {
			col.add(nest("delay", d.missing("duration", "required: how long to hold a request, more than 0 and at most %s", MaxFaultDelay)))
		}
	}
	if a := f.Abort; a != nil {
		col.add(nest("abort", checkPercent(&a.Meta, "percent", a.Percent)))
		if a.Status < 400 || a.Status > 599 {
			col.add(nest("abort", a.missing("status", "%d is not an error status; use 400 to 599, e.g. 503", a.Status)))
		}
	}
	return col.err()
}

// validateLimits checks the service's own limits: a cap that is not
// negative, on an HTTP service (a qn service caps its connections with
// qn.max_connections).
func (s *Service) validateLimits() error {
	l := s.Limits
	switch {
	case l == nil, s.IsQN(): // qn services: refused by the applier table (qnRefusals)
		return nil
	}
	return nest("limits", nonNegative(&l.Meta, "max_in_flight", int64(l.MaxInFlight)))
}

// validateFaults checks the faults of a service's versions and rules (a
// qn service's are refused by the applier table: qnRefusals).
func (s *Service) validateFaults() error {
	var col collector
	for _, vn := range s.VersionNames() {
		v := s.Versions[vn]
		if v == nil || v.Fault == nil {
			continue
		}
		if s.IsQN() {
			continue
		}
		col.add(nest(join("versions", vn)+".fault", v.Fault.Validate()))
	}
	for i, r := range s.Rules {
		if r != nil && r.Fault != nil {
			col.add(nest(fmt.Sprintf("rules[%d].fault", i), r.Fault.Validate()))
		}
	}
	return col.err()
}
