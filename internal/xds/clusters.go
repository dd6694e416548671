package xds

import (
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/route"
)

// connectTimeout bounds an Envoy connect to an upstream target.
const connectTimeout = 5 * time.Second

// clusters returns one cluster and one load assignment per upstream a
// version of svcs uses, sorted by name. Clusters take their endpoints over
// EDS; an Envoy cluster whose targets are host names resolves them itself
// (STRICT_DNS, endpoints inline), as EDS endpoints must be addresses.
func (tr *translator) clusters(svcs []*route.Service) ([]*clusterv3.Cluster, []*endpointv3.ClusterLoadAssignment) {
	used := map[string]bool{}
	for _, s := range svcs {
		for _, v := range s.Versions {
			used[v.Upstream] = true
		}
	}
	var cs []*clusterv3.Cluster
	var las []*endpointv3.ClusterLoadAssignment
	for _, name := range sortedKeys(used) {
		u := tr.cfg.Upstreams[name]
		if u == nil || u.IsTCP() {
			continue
		}
		la, tlsName, named := loadAssignment(name, u.Targets)
		c := &clusterv3.Cluster{
			Name:           name,
			ConnectTimeout: durationpb.New(connectTimeout),
			LbPolicy:       clusterv3.Cluster_ROUND_ROBIN,
		}
		if named && tr.kind == Envoy {
			c.ClusterDiscoveryType = &clusterv3.Cluster_Type{Type: clusterv3.Cluster_STRICT_DNS}
			c.LoadAssignment = la
		} else {
			c.ClusterDiscoveryType = &clusterv3.Cluster_Type{Type: clusterv3.Cluster_EDS}
			c.EdsClusterConfig = &clusterv3.Cluster_EdsClusterConfig{EdsConfig: adsSource(), ServiceName: name}
			las = append(las, la)
		}
		if u.Protocol == config.ProtocolH2 || u.Protocol == config.ProtocolH2C {
			c.TypedExtensionProtocolOptions = map[string]*anyMsg{
				"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": mustAny(&httpv3.HttpProtocolOptions{
					UpstreamProtocolOptions: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_{ExplicitHttpConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig{
						ProtocolConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_Http2ProtocolOptions{Http2ProtocolOptions: h2Options(u.H2)},
					}},
				}),
			}
		}
		if tr.kind == Envoy {
			tr.envoyClusterExtras(c, u, tlsName)
		}
		cs = append(cs, c)
	}
	return cs, las
}

// envoyClusterExtras adds what only Envoy uses: active health checks,
// ejection after consecutive connect failures and TLS towards https targets.
func (tr *translator) envoyClusterExtras(c *clusterv3.Cluster, u *config.Upstream, tlsName string) {
	if h := u.Health; h != nil {
		interval := h.Interval.D()
		if interval <= 0 {
			interval = 2 * time.Second
		}
		codec := typev3.CodecClientType_HTTP1
		if u.Protocol == config.ProtocolH2 || u.Protocol == config.ProtocolH2C {
			codec = typev3.CodecClientType_HTTP2
		}
		c.HealthChecks = []*corev3.HealthCheck{{
			Timeout:            durationpb.New(h.Timeout.D()),
			Interval:           durationpb.New(interval),
			UnhealthyThreshold: wrapperspb.UInt32(1),
			HealthyThreshold:   wrapperspb.UInt32(1),
			HealthChecker: &corev3.HealthCheck_HttpHealthCheck_{HttpHealthCheck: &corev3.HealthCheck_HttpHealthCheck{
				Path: h.Path, CodecClientType: codec,
			}},
		}}
	}
	if u.EjectAfter > 0 {
		c.OutlierDetection = &clusterv3.OutlierDetection{
			SplitExternalLocalOriginErrors: true,
			ConsecutiveLocalOriginFailure:  wrapperspb.UInt32(uint32(u.EjectAfter)),
			EnforcingConsecutive_5Xx:       wrapperspb.UInt32(0),
			BaseEjectionTime:               durationpb.New(u.EjectFor.D()),
		}
	}
	if tlsName != "" {
		ctx := &tlsv3.UpstreamTlsContext{Sni: tlsName}
		if u.Protocol == config.ProtocolH2 {
			ctx.CommonTlsContext = &tlsv3.CommonTlsContext{AlpnProtocols: []string{"h2"}}
		}
		if u.TLS != nil && u.TLS.ServerName != "" {
			ctx.Sni = u.TLS.ServerName
		}
		c.TransportSocket = &corev3.TransportSocket{
			Name:       "envoy.transport_sockets.tls",
			ConfigType: &corev3.TransportSocket_TypedConfig{TypedConfig: mustAny(ctx)},
		}
	}
}

// loadAssignment puts every target in one locality with a positive
// load_balancing_weight (proxyless gRPC drops localities without one). It
// reports the TLS server name of https targets and whether any target is a
// host name rather than an address.
func loadAssignment(name string, targets []string) (la *endpointv3.ClusterLoadAssignment, tlsName string, named bool) {
	loc := &endpointv3.LocalityLbEndpoints{
		Locality:            &corev3.Locality{Region: "turnout"},
		LoadBalancingWeight: wrapperspb.UInt32(1),
	}
	for _, t := range targets {
		host, port, https := splitTarget(t)
		if https && tlsName == "" {
			tlsName = host
		}
		if net.ParseIP(host) == nil {
			named = true
		}
		loc.LbEndpoints = append(loc.LbEndpoints, &endpointv3.LbEndpoint{HostIdentifier: &endpointv3.LbEndpoint_Endpoint{
			Endpoint: &endpointv3.Endpoint{Address: &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
				Address: host, PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: port},
			}}}},
		}})
	}
	return &endpointv3.ClusterLoadAssignment{ClusterName: name, Endpoints: []*endpointv3.LocalityLbEndpoints{loc}}, tlsName, named
}

// splitTarget parses an upstream target URL (validated by config) into host,
// port (the scheme's default when absent) and whether it is https.
func splitTarget(target string) (host string, port uint32, https bool) {
	u, err := url.Parse(target)
	if err != nil {
		return target, 80, false
	}
	https = strings.EqualFold(u.Scheme, "https")
	host = u.Hostname()
	p, _ := strconv.ParseUint(u.Port(), 10, 16)
	if p == 0 {
		p = 80
		if https {
			p = 443
		}
	}
	return host, uint32(p), https
}

// referenced keeps the clusters and load assignments that the gRPC route
// configurations rcs send to. A proxyless client subscribes only
// to the clusters its routes name, and the ADS snapshot cache answers a
// subscription only when it names every cluster of the snapshot: a
// cluster no route names (a gone version's, or a pinned version's whose
// pin routes are withheld under a trust block) would stall the client.
func referenced(rcs []*routev3.RouteConfiguration, cs []*clusterv3.Cluster, las []*endpointv3.ClusterLoadAssignment) ([]*clusterv3.Cluster, []*endpointv3.ClusterLoadAssignment) {
	used := map[string]bool{}
	for _, rc := range rcs {
		for _, vh := range rc.GetVirtualHosts() {
			for _, rt := range vh.GetRoutes() {
				a := rt.GetRoute()
				if c := a.GetCluster(); c != "" {
					used[c] = true
				}
				for _, wc := range a.GetWeightedClusters().GetClusters() {
					used[wc.GetName()] = true
				}
			}
		}
	}
	keptCs := cs[:0]
	for _, c := range cs {
		if used[c.GetName()] {
			keptCs = append(keptCs, c)
		}
	}
	keptLas := las[:0]
	for _, la := range las {
		if used[la.GetClusterName()] {
			keptLas = append(keptLas, la)
		}
	}
	return keptCs, keptLas
}

// h2Options are an HTTP/2 upstream's protocol options: the PINGs Turnout's
// own pools send (upstreams.NAME.h2), as Envoy's connection_keepalive
// (none when ping_interval is 0). Envoy sends them every interval where
// Turnout's pools send one after an interval without frames; both close a
// connection whose PING goes unanswered for the timeout.
func h2Options(h *config.UpstreamH2) *corev3.Http2ProtocolOptions {
	interval, timeout := h.Pings()
	if interval <= 0 {
		return &corev3.Http2ProtocolOptions{}
	}
	return &corev3.Http2ProtocolOptions{ConnectionKeepalive: &corev3.KeepaliveSettings{
		Interval: durationpb.New(interval), Timeout: durationpb.New(timeout)}}
}
