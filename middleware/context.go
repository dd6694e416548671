package middleware

import (
	"context"
	"net/http"

	"google.golang.org/grpc/metadata"
)

// Decision is what the routing table decided for a request or call, as the
// handler of the chosen version sees it through VersionFrom.
type Decision struct {
	// Service is the configured service's name.
	Service string
	// Version is the version serving the request.
	Version string
	// Reason is why: pinned, rule, experiment, rollout or default (the
	// `reason` label of turnout_decisions_total).
	Reason string
	// Rule names the rule that matched (reasons rule and experiment).
	Rule string
	// Requested is what the request asked for ("2", "^2.1", "v2"), "" when
	// it pinned nothing.
	Requested string
}

// decided is the context value of a routed request: the decision and where
// the client interceptors find the colour to propagate.
type decided struct {
	d      Decision
	header http.Header // HTTP requests
	md     metadata.MD // gRPC calls
}

type decidedKey struct{}

// VersionFrom returns the decision of the request or call ctx belongs to;
// ok is false outside a request the middleware or its interceptors routed.
func VersionFrom(ctx context.Context) (d Decision, ok bool) {
	v, ok := ctx.Value(decidedKey{}).(*decided)
	if !ok {
		return Decision{}, false
	}
	return v.d, true
}

// context returns ctx carrying x's decision and the request's colour
// source (h or md).
func (x *exchange) context(ctx context.Context, h http.Header, md metadata.MD) context.Context {
	d := &x.d
	x.dec = decided{header: h, md: md, d: Decision{Service: d.Service.Name, Version: d.Version.Name,
		Reason: d.Reason.String(), Requested: d.Requested}}
	if d.Rule != nil {
		x.dec.d.Rule = d.Rule.Name
	}
	return context.WithValue(ctx, decidedKey{}, &x.dec)
}
