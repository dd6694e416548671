package xds

import (
	"maps"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/route"
)

// Kind is the kind of xDS client a snapshot is translated for.
type Kind uint8

// Node kinds.
const (
	// Envoy nodes get a listener on Options.EnvoyListen whose routes come
	// over ADS (RDS).
	Envoy Kind = iota
	// GRPC nodes (proxyless gRPC clients) get an api_listener per service.
	GRPC
)

// String returns "envoy" or "grpc".
func (k Kind) String() string {
	if k == GRPC {
		return "grpc"
	}
	return "envoy"
}

// Applier is the entry of the applier table (config.Config.Refusals)
// that says what nodes of kind k cannot honour.
func (k Kind) Applier() config.Applier {
	if k == GRPC {
		return config.ApplierGRPC
	}
	return config.ApplierEnvoy
}

// ParseKind parses "envoy" or "grpc".
func ParseKind(s string) (Kind, bool) {
	switch strings.ToLower(s) {
	case "envoy":
		return Envoy, true
	case "grpc":
		return GRPC, true
	}
	return Envoy, false
}

// Names of the Envoy node's listener and route configuration.
const (
	EnvoyListenerName = "turnout_http"
	EnvoyRouteName    = "turnout_routes"
)

// Options say what to translate for.
type Options struct {
	Kind Kind
	// EnvoyListen is the address of the Envoy listener (host:port);
	// config.DefaultEnvoyListen when empty.
	EnvoyListen string
}

// Resources are the Envoy resources of one snapshot, each list sorted by
// name.
type Resources struct {
	Listeners []*listenerv3.Listener
	Routes    []*routev3.RouteConfiguration
	Clusters  []*clusterv3.Cluster
	Endpoints []*endpointv3.ClusterLoadAssignment
}

// Translate turns a compiled routing table into the Envoy resources for one
// kind of node. It is a pure function of its arguments: the same table gives
// the same resources. Warnings name what Envoy (or gRPC) cannot express;
// each is a *config.Error with Warning set, anchored at the configuration.
func Translate(t *route.Table, o Options) (*Resources, config.Errors) {
	tr := &translator{kind: o.Kind, cfg: t.Config}
	var svcs []*route.Service
	for _, s := range t.Services() {
		if s.IsQN() {
			continue // raw TCP: not HTTP routing
		}
		svcs = append(svcs, s)
	}
	tr.faults = hasFaults(svcs)
	tr.refusals()
	res := &Resources{}
	res.Clusters, res.Endpoints = tr.clusters(svcs)
	if o.Kind == GRPC {
		var rcs []*routev3.RouteConfiguration
		for _, s := range svcs {
			rc := &routev3.RouteConfiguration{Name: s.Name, VirtualHosts: []*routev3.VirtualHost{{
				Name: s.Name, Domains: []string{"*"}, Routes: tr.serviceRoutes(s),
			}}}
			res.Listeners = append(res.Listeners, apiListener(rc, tr.faults))
			rcs = append(rcs, rc)
		}
		res.Clusters, res.Endpoints = referenced(rcs, res.Clusters, res.Endpoints)
	} else {
		rc := &routev3.RouteConfiguration{Name: EnvoyRouteName, VirtualHosts: tr.virtualHosts(svcs)}
		cluster := ""
		if tr.enforcesTrust() {
			cluster = authzCluster(tr.cfg)
			rc.RequestHeadersToRemove = []string{headerTrusted}
		}
		res.Routes = []*routev3.RouteConfiguration{rc}
		host, port := envoyAddress(o.EnvoyListen)
		res.Listeners = []*listenerv3.Listener{envoyListener(host, port, tr.faults, cluster)}
	}
	return res, tr.warnings
}

// envoyAddress splits the Envoy listener address; an empty host listens on
// every interface.
func envoyAddress(addr string) (string, uint32) {
	if addr == "" {
		addr = config.DefaultEnvoyListen
	}
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		host, p = "0.0.0.0", "10000"
	}
	if host == "" {
		host = "0.0.0.0"
	}
	port, _ := strconv.ParseUint(p, 10, 16)
	return host, uint32(port)
}

// virtualHosts groups the services by host the way route.Table looks them
// up: a request for an exact host tries that host's services, then the
// wildcard hosts that match it, then the services without hosts; Envoy picks
// one virtual host and its first matching route, so each virtual host lists
// those groups in that order, longest path prefix first within each.
func (tr *translator) virtualHosts(svcs []*route.Service) []*routev3.VirtualHost {
	exact := map[string][]*route.Service{}
	wild := map[string][]*route.Service{}
	var anyHost []*route.Service
	for _, s := range svcs {
		if len(s.Hosts) == 0 {
			anyHost = append(anyHost, s)
		}
		for _, h := range s.Hosts {
			if strings.HasPrefix(h, "*.") {
				wild[h] = append(wild[h], s)
			} else {
				exact[h] = append(exact[h], s)
			}
		}
	}
	// Route lists are built once per service and shared by the virtual
	// hosts that include it.
	built := map[*route.Service][]*routev3.Route{}
	routesOf := func(groups ...[]*route.Service) []*routev3.Route {
		var out []*routev3.Route
		for _, g := range groups {
			g = append([]*route.Service(nil), g...)
			sort.SliceStable(g, func(i, j int) bool { return len(g[i].PathPrefix) > len(g[j].PathPrefix) })
			for _, s := range g {
				if built[s] == nil {
					built[s] = tr.serviceRoutes(s)
				}
				out = append(out, built[s]...)
			}
		}
		return out
	}
	wildNames := sortedKeys(wild)
	sort.SliceStable(wildNames, func(i, j int) bool { return len(wildNames[i]) > len(wildNames[j]) })
	var vhs []*routev3.VirtualHost
	for _, h := range sortedKeys(exact) {
		groups := [][]*route.Service{exact[h]}
		for _, w := range wildNames {
			if strings.HasSuffix(h, w[1:]) {
				groups = append(groups, wild[w])
			}
		}
		groups = append(groups, anyHost)
		vhs = append(vhs, &routev3.VirtualHost{Name: h, Domains: []string{h}, Routes: routesOf(groups...)})
	}
	for _, w := range wildNames {
		vhs = append(vhs, &routev3.VirtualHost{Name: w, Domains: []string{w}, Routes: routesOf(wild[w], anyHost)})
	}
	if len(anyHost) > 0 || len(vhs) == 0 {
		vhs = append(vhs, &routev3.VirtualHost{Name: "any", Domains: []string{"*"}, Routes: routesOf(anyHost)})
	}
	return vhs
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// Warnings translates t for every node kind and returns what cannot be
// expressed, each problem once, Envoy's first: what `turnout validate`
// prints for a configuration with an xds block.
func Warnings(t *route.Table) config.Errors {
	var out config.Errors
	seen := map[string]bool{}
	for _, k := range []Kind{Envoy, GRPC} {
		_, warns := Translate(t, Options{Kind: k})
		for _, w := range warns {
			if !seen[w.Error()] {
				seen[w.Error()] = true
				out = append(out, w)
			}
		}
	}
	return out
}
