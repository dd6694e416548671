package middleware

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/route"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// traceKeys are always propagated: W3C trace context and baggage.
var traceKeys = []string{"traceparent", "tracestate", "baggage"}

// colourKeys are the lower-case keys propagated for one table.
type colourKeys struct {
	table *route.Table
	keys  []string
}

// colour returns the keys to propagate for the live table: the headers the
// rules match on, header sticky keys of rollouts and experiments, the
// WithPropagate keys and the trace keys.
func (m *Middleware) colour() []string {
	t := m.table()
	if c := m.keys.Load(); c != nil && c.table == t {
		return c.keys
	}
	seen := map[string]bool{}
	var keys []string
	add := func(k string) {
		k = strings.ToLower(k)
		if k != "" && !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	sticky := func(k config.StickyKey) {
		if k.Kind == "header" {
			add(k.Name)
		}
	}
	for _, name := range t.Config.ServiceNames() {
		s := t.Config.Services[name]
		for _, r := range s.Rules {
			for _, h := range slices.Sorted(maps.Keys(r.Match.Header)) {
				add(h)
			}
			if r.Experiment != nil {
				sticky(r.Experiment.Sticky)
			}
		}
		if s.Rollout != nil {
			sticky(s.Rollout.Sticky)
		}
	}
	for _, k := range m.extra {
		add(k)
	}
	for _, k := range traceKeys {
		add(k)
	}
	m.keys.Store(&colourKeys{table: t, keys: keys})
	return keys
}

// propagated returns the pairs (key, value, ...) an outgoing call or
// request made while serving ctx carries: x-turnout-version (the version
// serving ctx) and the colour keys the incoming request or call had.
// has reports keys the outgoing side already set, which are kept.
func (m *Middleware) propagated(ctx context.Context, has func(string) bool) []string {
	v, ok := ctx.Value(decidedKey{}).(*decided)
	if !ok {
		return nil
	}
	var kv []string
	if !has(versionKey) {
		kv = append(kv, versionKey, v.d.Version)
	}
	for _, k := range m.colour() {
		if has(k) {
			continue
		}
		var vals []string
		if v.md != nil {
			vals = v.md[k]
		} else if v.header != nil {
			vals = v.header.Values(k)
		}
		for _, val := range vals {
			kv = append(kv, k, val)
		}
	}
	return kv
}

// versionKey carries the caller's serving version to the next hop, as the
// proxy's X-Turnout-Version does upstream.
const versionKey = "x-turnout-version"

// outgoing returns ctx with the propagated metadata appended.
func (m *Middleware) outgoing(ctx context.Context) context.Context {
	out, _ := metadata.FromOutgoingContext(ctx)
	kv := m.propagated(ctx, func(k string) bool { return len(out[k]) > 0 })
	if len(kv) == 0 {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, kv...)
}

// UnaryClientInterceptor propagates, on calls made while serving a routed
// request or call, x-turnout-version (the version serving it) and the
// colour metadata it arrived with (rule headers, header sticky keys,
// WithPropagate keys, traceparent, tracestate, baggage), so the next hop's
// rules and splits see the same colour. Keys the caller set are kept.
func (m *Middleware) UnaryClientInterceptor() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		return invoker(m.outgoing(ctx), method, req, reply, cc, opts...)
	}
}

// StreamClientInterceptor is UnaryClientInterceptor for streaming calls.
func (m *Middleware) StreamClientInterceptor() grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		return streamer(m.outgoing(ctx), desc, cc, method, opts...)
	}
}

// Transport propagates the same keys on HTTP requests made with the
// request's context while serving a routed request or call (nil base is
// http.DefaultTransport). Headers the request already has are kept.
func (m *Middleware) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return roundTripper(func(r *http.Request) (*http.Response, error) {
		kv := m.propagated(r.Context(), func(k string) bool { return r.Header.Get(k) != "" })
		if len(kv) > 0 {
			r = r.Clone(r.Context())
			for i := 0; i+1 < len(kv); i += 2 {
				r.Header.Add(kv[i], kv[i+1])
			}
		}
		return base.RoundTrip(r)
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
