package xds

import (
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	commonfaultv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/common/fault/v3"
	faultv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/fault/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/turnout-gw/turnout/internal/fault"
	"github.com/turnout-gw/turnout/internal/route"
)

// FaultFilterName is the HTTP filter that injects the configured faults
// (versions.NAME.fault, rules[].fault): Envoy's fault filter, which
// proxyless gRPC clients implement too.
const FaultFilterName = "envoy.filters.http.fault"

// hasFaults reports whether any version or rule of svcs injects faults;
// only then do listeners carry the fault filter.
func hasFaults(svcs []*route.Service) bool {
	for _, s := range svcs {
		for _, v := range s.Versions {
			if v.Fault != nil {
				return true
			}
		}
		for _, r := range s.Rules {
			if r.Fault != nil {
				return true
			}
		}
	}
	return false
}

// faultFilter is the fault filter as it sits in the connection manager,
// before the router: it injects nothing by itself; routes and weighted
// clusters carry the faults as per-filter configuration.
func faultFilter() *hcmv3.HttpFilter {
	return &hcmv3.HttpFilter{Name: FaultFilterName,
		ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: mustAny(&faultv3.HTTPFault{})}}
}

// faultConfig is the per-filter configuration of a route or weighted
// cluster that injects s, or nil for no fault. Percentages keep Turnout's
// resolution (millionths).
func faultConfig(s *fault.Spec) map[string]*anypb.Any {
	if s == nil {
		return nil
	}
	f := &faultv3.HTTPFault{}
	if s.DelayPercent > 0 && s.Delay > 0 {
		f.Delay = &commonfaultv3.FaultDelay{
			FaultDelaySecifier: &commonfaultv3.FaultDelay_FixedDelay{FixedDelay: durationpb.New(s.Delay)},
			Percentage:         millionths(s.DelayPercent),
		}
	}
	if s.AbortPercent > 0 {
		f.Abort = &faultv3.FaultAbort{
			ErrorType:  &faultv3.FaultAbort_HttpStatus{HttpStatus: uint32(s.AbortStatus)},
			Percentage: millionths(s.AbortPercent),
		}
	}
	return map[string]*anypb.Any{FaultFilterName: mustAny(f)}
}

func millionths(percent float64) *typev3.FractionalPercent {
	return &typev3.FractionalPercent{Numerator: weightOf(percent), Denominator: typev3.FractionalPercent_MILLION}
}

// withRuleFault makes rt inject what the rule r sends its requests
// (route.Rule.FaultFor, the fault a route.Decision of r carries): when the
// rule has its own fault it replaces every version's, so the route carries
// it and its weighted clusters carry none, since Envoy lets the most
// specific configuration win. A route that answers directly is left alone.
func withRuleFault(rt *routev3.Route, r *route.Rule) {
	f := r.FaultFor(nil)
	act := rt.GetRoute()
	if f == nil || act == nil {
		return
	}
	rt.TypedPerFilterConfig = faultConfig(f)
	for _, c := range act.GetWeightedClusters().GetClusters() {
		c.TypedPerFilterConfig = nil
	}
}
