package xds

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/cespare/xxhash/v2"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// validator is what every generated Envoy message implements.
type validator interface{ Validate() error }

// byType lists the resources by xDS type URL.
func (r *Resources) byType() map[resourcev3.Type][]types.Resource {
	m := map[resourcev3.Type][]types.Resource{}
	for _, x := range r.Listeners {
		m[resourcev3.ListenerType] = append(m[resourcev3.ListenerType], x)
	}
	for _, x := range r.Routes {
		m[resourcev3.RouteType] = append(m[resourcev3.RouteType], x)
	}
	for _, x := range r.Clusters {
		m[resourcev3.ClusterType] = append(m[resourcev3.ClusterType], x)
	}
	for _, x := range r.Endpoints {
		m[resourcev3.EndpointType] = append(m[resourcev3.EndpointType], x)
	}
	return m
}

// typeOrder is the order resources are hashed and dumped in.
var typeOrder = []resourcev3.Type{resourcev3.ListenerType, resourcev3.RouteType, resourcev3.ClusterType, resourcev3.EndpointType}

// Validate runs every resource's generated Validate().
func (r *Resources) Validate() error {
	for _, typ := range typeOrder {
		for _, x := range r.byType()[typ] {
			if err := x.(validator).Validate(); err != nil {
				return fmt.Errorf("%s %q: %w", typeName(typ), cachev3.GetResourceName(x), err)
			}
		}
	}
	return nil
}

// Version is a hash of the resources (deterministic marshalling, in type
// and name order): the same resources always give the same version.
func (r *Resources) Version() string {
	h := xxhash.New()
	opts := proto.MarshalOptions{Deterministic: true}
	for _, typ := range typeOrder {
		for _, x := range r.byType()[typ] {
			b, err := opts.Marshal(x)
			if err != nil {
				panic("xds: " + err.Error())
			}
			_, _ = h.WriteString(typ)
			_, _ = h.Write(strconv.AppendInt(nil, int64(len(b)), 10))
			_, _ = h.Write(b)
		}
	}
	return strconv.FormatUint(h.Sum64(), 16)
}

// Snapshot validates the resources and builds a consistent cache snapshot
// versioned by their hash.
func (r *Resources) Snapshot() (*cachev3.Snapshot, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	snap, err := cachev3.NewSnapshot(r.Version(), r.byType())
	if err != nil {
		return nil, fmt.Errorf("xds: building snapshot: %w", err)
	}
	if err := snap.Consistent(); err != nil {
		return nil, fmt.Errorf("xds: inconsistent snapshot: %w", err)
	}
	return snap, nil
}

// ShortType names an xDS type URL the way metrics and events do: listener,
// route, cluster, endpoint (or the URL itself for another type).
func ShortType(typeURL string) string {
	switch typeURL {
	case resourcev3.ListenerType:
		return "listener"
	case resourcev3.RouteType:
		return "route"
	case resourcev3.ClusterType:
		return "cluster"
	case resourcev3.EndpointType:
		return "endpoint"
	}
	return typeURL
}

func typeName(typ resourcev3.Type) string {
	switch typ {
	case resourcev3.ListenerType:
		return "listener"
	case resourcev3.RouteType:
		return "route configuration"
	case resourcev3.ClusterType:
		return "cluster"
	}
	return "cluster load assignment"
}

// JSON renders the resources as stable, indented JSON:
// {"listeners": [...], "routes": [...], "clusters": [...], "endpoints": [...]}.
func (r *Resources) JSON() ([]byte, error) {
	keys := []string{"listeners", "routes", "clusters", "endpoints"}
	var buf bytes.Buffer
	buf.WriteString("{")
	for i, typ := range typeOrder {
		if i > 0 {
			buf.WriteString(",")
		}
		fmt.Fprintf(&buf, "%q:[", keys[i])
		for j, x := range r.byType()[typ] {
			if j > 0 {
				buf.WriteString(",")
			}
			b, err := protojson.Marshal(x)
			if err != nil {
				return nil, err
			}
			buf.Write(b)
		}
		buf.WriteString("]")
	}
	buf.WriteString("}")
	var out bytes.Buffer
	// protojson varies its spacing on purpose; re-indenting makes it stable.
	if err := json.Indent(&out, buf.Bytes(), "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}
