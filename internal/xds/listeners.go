package xds

import (
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// adsSource is the config source of every resource a listener or cluster
// refers to: the same ADS stream.
func adsSource() *corev3.ConfigSource {
	return &corev3.ConfigSource{
		ResourceApiVersion:    corev3.ApiVersion_V3,
		ConfigSourceSpecifier: &corev3.ConfigSource_Ads{Ads: &corev3.AggregatedConfigSource{}},
	}
}

type anyMsg = anypb.Any

// mustAny wraps m; the messages given are Turnout's own, so marshalling
// cannot fail.
func mustAny(m proto.Message) *anypb.Any {
	a, err := anypb.New(m)
	if err != nil {
		panic("xds: " + err.Error())
	}
	return a
}

// connectionManager is an HttpConnectionManager that takes the route
// configuration named routeName over ADS, with the fault filter when faults
// are configured and the router filter last.
func connectionManager(routeName string, faults bool) *hcmv3.HttpConnectionManager {
	return connectionManagerWith(routeName, faults, nil)
}

// connectionManagerWith is connectionManager with filters run first.
func connectionManagerWith(routeName string, faults bool, first []*hcmv3.HttpFilter) *hcmv3.HttpConnectionManager {
	filters := first
	if faults {
		filters = append(filters, faultFilter())
	}
	filters = append(filters, &hcmv3.HttpFilter{
		Name:       "envoy.filters.http.router",
		ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: mustAny(&routerv3.Router{})},
	})
	return &hcmv3.HttpConnectionManager{
		StatPrefix: "turnout",
		CodecType:  hcmv3.HttpConnectionManager_AUTO,
		RouteSpecifier: &hcmv3.HttpConnectionManager_Rds{Rds: &hcmv3.Rds{
			ConfigSource: adsSource(), RouteConfigName: routeName,
		}},
		HttpFilters: filters,
	}
}

// envoyListener is the data-plane listener of an Envoy node. With
// authzCluster set (a trust block), Envoy asks Turnout's ext_authz service
// through it before routing, and takes the client address from the
// connection (use_remote_address), never from a header.
func envoyListener(host string, port uint32, faults bool, authzCluster string) *listenerv3.Listener {
	var first []*hcmv3.HttpFilter
	if authzCluster != "" {
		first = append(first, authzFilter(authzCluster))
	}
	hcm := connectionManagerWith(EnvoyRouteName, faults, first)
	if authzCluster != "" {
		hcm.UseRemoteAddress = wrapperspb.Bool(true)
	}
	hcm.StripPortMode = &hcmv3.HttpConnectionManager_StripAnyHostPort{StripAnyHostPort: true}
	hcm.StreamIdleTimeout = durationpb.New(5 * time.Minute)
	return &listenerv3.Listener{
		Name: EnvoyListenerName,
		Address: &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
			Address: host, PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: port},
		}}},
		FilterChains: []*listenerv3.FilterChain{{
			Filters: []*listenerv3.Filter{{
				Name:       "envoy.filters.network.http_connection_manager",
				ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: mustAny(hcm)},
			}},
		}},
	}
}

// apiListener is what a proxyless gRPC client dialling xds:///SERVICE asks
// for: a listener named after the service, its routes inline (the snapshot
// cache's consistency check does not follow RDS names out of api_listeners).
func apiListener(rc *routev3.RouteConfiguration, faults bool) *listenerv3.Listener {
	hcm := connectionManager(rc.Name, faults)
	hcm.RouteSpecifier = &hcmv3.HttpConnectionManager_RouteConfig{RouteConfig: rc}
	return &listenerv3.Listener{
		Name:        rc.Name,
		ApiListener: &listenerv3.ApiListener{ApiListener: mustAny(hcm)},
	}
}
