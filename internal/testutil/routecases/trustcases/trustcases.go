// Package trustcases is the table of trust cases every applier of
// `trust:` runs: internal/testutil/routecases runs it over HTTP against
// the proxy and the middleware, and the xDS export's tests run it through
// ext_authz and the Envoy route emulator. It imports nothing, so any
// package's tests can use it.
package trustcases

// YAML is the configuration of the trust cases. Every applier sees its
// client as 127.0.0.1 (a trusted proxy here), so a case names its client
// with X-Forwarded-For: inside 10.0.0.0/8 it is trusted, anything else is
// not. users refuses untrusted pins and colours /users to v2 by X-Env;
// open allows pins. The signature key is read from KeyEnv ({{KEYENV}}),
// which a harness sets to Key (or passes Key to trust.WithKey).
const YAML = `
upstreams:
  users-v1: { targets: [{{V1}}] }
  users-v2: { targets: [{{V2}}] }
trust:
  networks: [10.0.0.0/8]
  proxies: [127.0.0.0/8]
  pins: refuse
  service_pins: { open: allow }
  signature: { key_env: {{KEYENV}} }
services:
  users:
    match: { path_prefix: /users }
    default: v1
    versions: { v1: { upstream: users-v1 }, v2: { upstream: users-v2 } }
    rules:
      - name: testers
        match: { header: { X-Env: canary } }
        version: v2
  open:
    match: { path_prefix: /open }
    default: v1
    versions: { v1: { upstream: users-v1 }, v2: { upstream: users-v2 } }
`

// KeyEnv and Key are the signature key's variable and value.
const (
	KeyEnv = "TURNOUT_TRUSTCASES_KEY"
	Key    = "trustcases-k3y"
)

// The clients the cases name in X-Forwarded-For.
const (
	Trusted   = "X-Forwarded-For: 10.1.2.3"
	Untrusted = "X-Forwarded-For: 203.0.113.9"
)

// The appliers a case can be refused by (Case.Refused).
const (
	Proxy      = "proxy"
	Middleware = "middleware"
	Envoy      = "envoy"
	QN         = "qn" // QN frames carry no headers: validate refuses rules and negotiate for QN
)

// Case is one trust case: a GET of Path with Headers ("Name: value"),
// signed with Key over the policy's signed keys when Signed, must be
// served by Served. Refused lists the appliers that cannot honour it
// (validate refuses the configuration for them): their harness asserts
// that refusal instead of running the case.
type Case struct {
	Name    string
	Path    string
	Headers []string
	Signed  bool
	Served  string
	Refused []string
}

// RefusedBy reports whether applier cannot honour c.
func (c Case) RefusedBy(applier string) bool {
	for _, a := range c.Refused {
		if a == applier {
			return true
		}
	}
	return false
}

// qn: every trust case routes by a header.
var qn = []string{QN}

// Cases are the trust cases of YAML.
var Cases = []Case{
	{"trusted colour", "/users/1", []string{Trusted, "X-Env: canary"}, false, "v2", qn},
	{"trusted pin", "/users/1", []string{Trusted, "X-API-Version: 2"}, false, "v2", qn},
	{"untrusted colour ignored", "/users/1", []string{Untrusted, "X-Env: canary"}, false, "v1", qn},
	{"untrusted pin refused", "/users/1", []string{Untrusted, "X-API-Version: 2"}, false, "v1", qn},
	{"untrusted peer colour ignored", "/users/1", []string{"X-Env: canary"}, false, "v1", qn},
	{"forged signature ignored", "/users/1", []string{Untrusted, "X-Env: canary", "X-Turnout-Colour-Sig: t=1800000000,h=" + zeros}, false, "v1", qn},
	{"signed colour", "/users/1", []string{Untrusted, "X-Env: canary"}, true, "v2", qn},
	{"signed pin", "/users/1", []string{Untrusted, "X-API-Version: 2"}, true, "v2", qn},
	{"untrusted pin allowed", "/open/1", []string{Untrusted, "X-API-Version: 2"}, false, "v2", qn},
}

// zeros is a well-formed MAC no key produces.
const zeros = "0000000000000000000000000000000000000000000000000000000000000000"

// qnKeys name, per case, the key of the case's configuration the QN
// listener refuses (config.Service.Refusals for qn), which a QN harness
// asserts refused for the qn variant of the case's service: colour is
// routed by rules, a pin by negotiate (the sources a request pins by;
// written in the variant when the service relies on the default ones).
var qnKeys = map[string]string{
	"trusted colour":                "rules",
	"trusted pin":                   "negotiate",
	"untrusted colour ignored":      "rules",
	"untrusted pin refused":         "negotiate",
	"untrusted peer colour ignored": "rules",
	"forged signature ignored":      "rules",
	"signed colour":                 "rules",
	"signed pin":                    "negotiate",
	"untrusted pin allowed":         "negotiate",
}

// QNKey is the key of YAML's service at c.Path that QN refuses for c ("" when
// QN runs c).
func (c Case) QNKey() string { return qnKeys[c.Name] }
