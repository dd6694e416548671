package route

import (
	"errors"
	"net"
	"net/http"
	"strings"

	"github.com/turnout-gw/turnout/internal/fault"
	"github.com/turnout-gw/turnout/internal/negotiate"
)

// Reason says why a request was sent to its version. The values are the
// `reason` label of turnout_decisions_total.
type Reason uint8

// Decision reasons.
const (
	ReasonNone Reason = iota
	ReasonPinned
	ReasonRule
	ReasonExperiment
	ReasonRollout
	ReasonDefault
	ReasonFallback
	// ReasonCandidate is a QN connection (internal/qnproxy) sent to a
	// version that speaks or translates the device's protocol because
	// neither side of the split nor the default can serve it. It is not a
	// label of turnout_decisions_total (QN connections are not HTTP
	// decisions), so it is not in Reasons.
	ReasonCandidate
)

// Reasons lists every reason with a label, for pre-resolving metrics.
var Reasons = []Reason{ReasonPinned, ReasonRule, ReasonExperiment, ReasonRollout, ReasonDefault, ReasonFallback}

// String returns the metric label of the reason.
func (r Reason) String() string {
	return [...]string{"none", "pinned", "rule", "experiment", "rollout", "default", "fallback", "candidate"}[r]
}

// Decision is what Decide concluded about one request. It is a value; the
// pointers in it refer into the immutable Table.
type Decision struct {
	// Service is nil when no service matched (Status is then 404).
	Service *Service
	// Version is the chosen version; nil when Status is 400, 404 or 406.
	Version *Version
	Reason  Reason
	// Rule is the rule that matched (reasons rule and experiment), or nil.
	Rule *Rule
	// Fault is the compiled fault to inject into the request sent to
	// Version (Rule.FaultFor), nil for none. Which fault applies is decided
	// here once; each applier draws its outcome (fault.Spec.Pick) from its
	// own random source and applies it.
	Fault *fault.Spec
	// Mirror is the version a copy of the request is sent to (shadow
	// traffic, internal/mirror), nil for none: set when the service
	// mirrors, the request is proxied (Status 0) to another version than
	// the mirror's, its method is mirrored and it falls in the mirrored
	// percent — by the rollout's sticky key when the request carries one
	// (BucketOf(key, MirrorSalt(service))), else by the table's random
	// source (WithRand). Appliers that cannot send a copy refuse or warn
	// about `mirror` (see README).
	Mirror *Version
	// Trusted is false when a trust policy (internal/trust) found the
	// request neither from a trusted network nor validly signed; Decide
	// alone trusts every request. Removed is what the policy removed from
	// the request before deciding it (an untrusted request's colour, a
	// refused pin, a signature that did not verify). Appliers read them
	// here: Envoy's ext_authz answer (internal/xds) sets its trusted
	// header from Trusted.
	Trusted bool
	Removed Removed
	// Source and Requested say where and how the request pinned a version.
	Source    negotiate.Source
	Requested string
	// Path is the path to send upstream (the version segment stripped when
	// the service strips it); PathVersion is the segment set aside, if any.
	Path        string
	PathVersion string
	// Status is 0 when the request should be proxied, otherwise the answer
	// Turnout gives itself: 400, 404, 406, 410 or 308.
	Status int
	// Err explains a 400.
	Err error
}

// ErrNoService is the Err of a 404 decision.
var ErrNoService = errors.New("no service matches the request")

// Decide routes one request. It never blocks and allocates nothing for
// pinned, rule and split decisions (expression rules and semver ranges
// excepted). It is DecideWith without input: a body source carries
// nothing.
func (t *Table) Decide(r *http.Request) Decision { return t.decide(r, true, Input{}) }

// Input is what an applier gathered from a request before deciding it,
// beyond the request's head: data Decide cannot read itself, because
// reading it means reading from the client.
type Input struct {
	// Body is the request's whole body when WantsBody asked for it and it
	// was read within the bound WantsBody gave; nil otherwise (not asked,
	// longer than the bound, or the applier cannot read bodies). The
	// negotiation's body source reads the version from it.
	Body []byte
}

// DecideWith routes r as Decide does, with what the applier gathered
// from it (in).
func (t *Table) DecideWith(r *http.Request, in Input) Decision { return t.decide(r, true, in) }

// WantsBody returns how many bytes of r's body an applier should read and
// pass as Input.Body before deciding: the service r belongs to reads its
// version from a JSON body (negotiate.body), r has one, within the bound,
// and no source before the body in order of precedence carries a version
// (negotiate.Negotiator.WantsBody). It returns 0, at the cost of a field
// test, when no service reads bodies. It reads nothing from r's body.
func (t *Table) WantsBody(r *http.Request) int64 {
	if !t.bodySource || r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return 0
	}
	at := t.locate(r)
	s := at.s
	if s == nil || s.negotiator == nil {
		return 0
	}
	pv := at.pv
	if !at.hasPV || !s.pathSource {
		pv = ""
	}
	if !s.negotiator.WantsBody(r, pv) {
		return 0
	}
	return s.negotiator.MaxBody()
}

// DecideUnpinned routes r as if it asked for no version: negotiation is
// skipped (a malformed or unknown pin is no error either) and the request
// goes through rules, the rollout split and the default. It is how a
// refused pin from an untrusted client is honoured (internal/trust).
func (t *Table) DecideUnpinned(r *http.Request) Decision { return t.decide(r, false, Input{}) }

// Negotiated reports whether the decision came from the request's version
// pin: pinned, or answered 400 or 406 because of it.
func (d *Decision) Negotiated() bool {
	return d.Service != nil && (d.Reason == ReasonPinned || d.Status == http.StatusBadRequest || d.Status == http.StatusNotAcceptable)
}

func (t *Table) decide(r *http.Request, pins bool, in Input) Decision {
	d := Decision{Trusted: true}
	at := t.locate(r)
	s, path, rest, pv, hasPV, host := at.s, at.path, at.rest, at.pv, at.hasPV, at.host
	if s == nil {
		d.Status = http.StatusNotFound
		d.Err = ErrNoService
		return d
	}
	d.Service = s
	d.Path = path
	if hasPV && s.pathSource {
		d.PathVersion = pv
		if s.StripPath {
			d.Path = rest
		}
	} else {
		pv = ""
	}

	var (
		val string
		src negotiate.Source
		ok  bool
		err error
	)
	if pins {
		val, src, ok, err = s.negotiator.RequestedIn(r, pv, in.Body)
	}
	if err != nil {
		d.Status, d.Err = http.StatusBadRequest, err
		return d
	}
	if ok {
		d.Source, d.Requested = src, val
		idx, err := s.resolver.Resolve(val)
		if err != nil {
			if errors.Is(err, negotiate.ErrMalformed) {
				d.Status = http.StatusBadRequest
			} else {
				d.Status = http.StatusNotAcceptable
			}
			d.Err = err
			return d
		}
		d.Version, d.Reason = s.Versions[idx], ReasonPinned
		return t.finish(d, r)
	}

	matchPath := d.Path
	if !s.StripPath && d.PathVersion != "" {
		matchPath = rest
	}
	for _, rule := range s.Rules {
		if !rule.match(r, matchPath, host) {
			continue
		}
		d.Rule = rule
		if rule.Experiment != nil {
			d.Version = rule.Experiment.pick(rule.Experiment.bucket(r, t.rnd))
			d.Reason = ReasonExperiment
		} else {
			d.Version, d.Reason = rule.Version, ReasonRule
		}
		return t.finish(d, r)
	}
	if ro := s.Rollout; ro != nil {
		d.Version = ro.split.pick(ro.split.bucket(r, t.rnd))
		d.Reason = ReasonRollout
		return t.finish(d, r)
	}
	d.Version, d.Reason = s.Default, ReasonDefault
	return t.finish(d, r)
}

// located is where a request belongs: its service (nil for none), its
// path ("/" for none) and what SplitPathVersion set aside of it, and its
// host.
type located struct {
	s                    *Service
	path, rest, pv, host string
	hasPV                bool
}

// locate finds r's service.
func (t *Table) locate(r *http.Request) located {
	at := located{path: r.URL.Path}
	if at.path == "" {
		at.path = "/"
	}
	at.pv, at.rest, at.hasPV = negotiate.SplitPathVersion(at.path)
	vlen := 0
	if at.hasPV {
		vlen = len(at.path) - len(at.rest)
	}
	at.host = requestHost(r)
	at.s = t.lookup(at.host, at.path, at.rest, vlen)
	return at
}

// FaultFor returns the fault to inject into an attempt on v: the
// decision's own for the decided version, else v's (a fallback attempt
// carries its version's fault, not the rule's).
func (d *Decision) FaultFor(v *Version) *fault.Spec {
	if v == d.Version {
		return d.Fault
	}
	return v.Fault
}

// finish sets the decision's fault, turns gone and redirect versions into
// Turnout's own answers and selects a proxied request for its service's
// mirror.
func (t *Table) finish(d Decision, r *http.Request) Decision {
	d.Fault = d.Rule.FaultFor(d.Version)
	switch d.Version.Lifecycle {
	case Gone:
		d.Status = http.StatusGone
	case Redirect:
		d.Status = http.StatusPermanentRedirect
	default:
		d.Mirror = mirrorOf(d.Service, d.Version, r, t.rnd)
	}
	return d
}

// requestHost returns the request's host, lower-cased, without port.
func requestHost(r *http.Request) string {
	h := r.Host
	if h == "" {
		return ""
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.HasSuffix(h, "]") {
		if _, _, err := net.SplitHostPort(h); err == nil {
			h = h[:i]
		}
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; 'A' <= c && c <= 'Z' {
			return strings.ToLower(h)
		}
	}
	return h
}

// Removed is the set of kinds of colour a trust policy (internal/trust)
// removed from an untrusted request before it was decided: a bit set of
// the Removed* values. The zero value removed nothing.
type Removed uint8

// The kinds of colour a trust policy removes; String gives each its label
// (the `source` label of turnout_untrusted_colour_total).
const (
	// RemovedHeader: a colour header (a rule's or trust.strip's).
	RemovedHeader Removed = 1 << iota
	// RemovedCookie: a colour cookie.
	RemovedCookie
	// RemovedQuery: a colour query parameter.
	RemovedQuery
	// RemovedPin: a version pin of a service that refuses untrusted pins;
	// the request was decided again without it.
	RemovedPin
	// RemovedSignature: a colour signature that did not verify.
	RemovedSignature

	removedKinds = 5
)

var removedLabels = [removedKinds]string{"header", "cookie", "query", "pin", "signature"}

// RemovedKinds lists every single kind of removed colour, in label order.
var RemovedKinds = []Removed{RemovedHeader, RemovedCookie, RemovedQuery, RemovedPin, RemovedSignature}

// Has reports whether every kind in k was removed.
func (r Removed) Has(k Removed) bool { return r&k == k }

// String returns the label of a single kind ("header", "pin", ...), the
// labels of a set joined by commas, or "" for none.
func (r Removed) String() string {
	out := ""
	for i, label := range removedLabels {
		if r&(1<<i) == 0 {
			continue
		}
		if out != "" {
			out += ","
		}
		out += label
	}
	return out
}
