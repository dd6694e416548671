// Package faultcases is the table of fault cases every applier of
// `fault:` runs (internal/testutil/routecases runs it over HTTP against
// the proxy and the middleware; the middleware's gRPC tests and the xDS
// export's Envoy route emulator run it too). It imports nothing, so any
// package's tests can use it.
package faultcases

// YAML is the configuration of the fault cases: v1 aborts every
// request 502, v2 injects nothing, and rules send to either with a fault
// of their own that replaces the version's. Every applier that honours
// `fault:` (the proxy, the middleware) must pass Cases; shares are drawn
// from the applier's random source, so every fault here is at 100 %.
const YAML = `
upstreams:
  users-v1: { targets: [{{V1}}] }
  users-v2: { targets: [{{V2}}] }
services:
  users:
    match: { path_prefix: /users }
    default: v1
    versions:
      v1: { upstream: users-v1, fault: { abort: { percent: 100, status: 502 } } }
      v2: { upstream: users-v2 }
    rules:
      - name: faulty-v2
        match: { header: { X-Env: faulty-v2 } }
        version: v2
        fault: { abort: { percent: 100, status: 503 } }
      - name: faulty-v1
        match: { header: { X-Env: faulty-v1 } }
        version: v1
        fault: { abort: { percent: 100, status: 429 } }
`

// Case is one fault case: a GET of /users/1 with Headers must answer
// Status from Served; Aborted says the answer is an injected abort (the
// X-Turnout-Fault header and fault.AbortBody), not the version's own.
type Case struct {
	Name    string
	Headers []string
	Status  int
	Served  string
	Aborted bool
}

// Cases are the fault cases of YAML.
var Cases = []Case{
	{"version fault", nil, 502, "v1", true},
	{"no fault", []string{"X-API-Version: 2"}, 200, "v2", false},
	{"rule fault", []string{"X-Env: faulty-v2"}, 503, "v2", true},
	{"rule fault replaces version's", []string{"X-Env: faulty-v1"}, 429, "v1", true},
}

// QN is the QN listener's applier name (config.ApplierQN).
const QN = "qn"

// qnKeys name, per case, the key of YAML's users service the QN listener
// refuses (config.Service.Refusals for qn): it injects no faults and has
// no rules or pins (negotiate: written in the qn variant, as the default
// sources the case pins by).
var qnKeys = map[string]string{
	"version fault":                 "versions.v1.fault",
	"no fault":                      "negotiate",
	"rule fault":                    "rules",
	"rule fault replaces version's": "rules",
}

// Refused lists the appliers that cannot honour c (validate refuses the
// configuration for them).
func (c Case) Refused() []string {
	if c.QNKey() != "" {
		return []string{QN}
	}
	return nil
}

// RefusedBy reports whether applier cannot honour c.
func (c Case) RefusedBy(applier string) bool {
	for _, a := range c.Refused() {
		if a == applier {
			return true
		}
	}
	return false
}

// QNKey is the key QN refuses for c ("" when QN runs c).
func (c Case) QNKey() string { return qnKeys[c.Name] }
