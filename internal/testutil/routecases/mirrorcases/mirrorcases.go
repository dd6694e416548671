// Package mirrorcases is the table of mirror-selection cases: which
// requests a service's `mirror` block copies to its target version
// (route.Decision.Mirror). internal/testutil/routecases runs it against
// the proxy, with a real mirror target counting the copies it receives;
// the xDS export's tests run it on the Envoy route emulator. The
// middleware and QN do not mirror: each case names them refused, and their
// harnesses assert the refusal (the middleware's warning, QN's validate
// error). It imports nothing, so any package's tests can use it.
package mirrorcases

// YAML is the configuration of the mirror cases. users mirrors every GET
// to v2 and colours X-Env: canary to v2; quiet mirrors nothing (percent
// 0); half mirrors half its GETs, sticky on its rollout's X-User-ID (the
// rollout at weight 0 keeps every request on v1).
const YAML = `
upstreams:
  users-v1: { targets: [{{V1}}] }
  users-v2: { targets: [{{V2}}] }
services:
  users:
    match: { path_prefix: /users }
    default: v1
    versions: { v1: { upstream: users-v1 }, v2: { upstream: users-v2 } }
    rules:
      - name: testers
        match: { header: { X-Env: canary } }
        version: v2
    mirror: { to: v2, percent: 100, methods: [GET] }
  quiet:
    match: { path_prefix: /quiet }
    default: v1
    versions: { v1: { upstream: users-v1 }, v2: { upstream: users-v2 } }
    mirror: { to: v2, percent: 0 }
  half:
    match: { path_prefix: /half }
    default: v1
    versions: { v1: { upstream: users-v1 }, v2: { upstream: users-v2 } }
    rollout: { from: v1, to: v2, weight: 0, sticky: "header:X-User-ID" }
    mirror: { to: v2, percent: 50 }
`

// HalfPercent is the mirrored percent of service half, whose sticky cases
// are mirrored when route.BucketOf(key, route.MirrorSalt("half")) is below
// route.WeightThreshold(HalfPercent): routecases' tests derive each
// sticky case's Mirrored from it.
const HalfPercent = 50

// The appliers a case can be refused by (Case.Refused).
const (
	Proxy      = "proxy"
	Middleware = "middleware" // logs that `mirror` applies to the proxy only
	Envoy      = "envoy"
	QN         = "qn" // validate refuses `mirror` for a qn service
)

// Case is one mirror case: a request of Method to Path (with Headers,
// "Name: value") on Service is served by Served, and a copy goes to v2
// when Mirrored. Key is the sticky key (X-User-ID) of a sticky case, ""
// otherwise. A harness sends each case twice: the answer must be the same
// both times. Refused lists the appliers that cannot honour the case.
type Case struct {
	Name     string
	Service  string
	Method   string
	Path     string
	Headers  []string
	Key      string
	Served   string
	Mirrored bool
	Refused  []string
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

// noMirror: the middleware and QN send no copies; Envoy's mirror policy
// has neither a method list nor a sticky key, so it also refuses a case
// that depends on one.
var (
	noMirror       = []string{Middleware, QN}
	noMirrorFilter = []string{Middleware, QN, Envoy}
)

// Cases are the mirror cases of YAML.
var Cases = []Case{
	{"GET mirrored at 100", "users", "GET", "/users/1", nil, "", "v1", true, noMirror},
	{"POST not a mirrored method", "users", "POST", "/users/2", nil, "", "v1", false, noMirrorFilter},
	{"routed to the mirror's version", "users", "GET", "/users/3", []string{"X-Env: canary"}, "", "v2", false, noMirror},
	{"percent 0", "quiet", "GET", "/quiet/1", nil, "", "v1", false, noMirror},
	{"sticky key mirrored", "half", "GET", "/half/1", nil, "user-1", "v1", true, noMirrorFilter},
	{"sticky key not mirrored", "half", "GET", "/half/2", nil, "user-2", "v1", false, noMirrorFilter},
}
