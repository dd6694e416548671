package xds

import (
	"context"
	"sync"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
)

// Nack is one response a client rejected.
type Nack struct {
	Node    string // node id
	Kind    Kind
	TypeURL string
	Version string // the version rejected
	Message string // the client's error_detail message
	At      time.Time
}

// maxAcked bounds the versions whose first ACK is remembered per kind.
const maxAcked = 64

// sent is the last response sent on one stream for one type.
type sent struct {
	nonce, version string
	rejected       bool // a NACK of it was already counted
}

// nackTracker implements the server callbacks: it remembers the nonce and
// version of every response per stream and type; on a NACK of the version
// currently served it makes the request look up to date, so the snapshot
// cache waits for the next snapshot instead of sending the rejected one
// again (go-control-plane's cache answers any request whose version differs
// from the snapshot's). It also records when each node kind acknowledged
// each version. It is safe for concurrent use.
type nackTracker struct {
	s *Server

	mu      sync.Mutex
	streams map[int64]map[string]*sent // stream -> type URL -> last response
	nodes   map[int64]*corev3.Node     // delta streams: only the first request names the node
	current map[Kind]string
	acked   map[Kind]map[string]time.Time // kind -> version -> first ACK
	reqs    int64
}

func newNackTracker(s *Server) *nackTracker {
	return &nackTracker{s: s, streams: map[int64]map[string]*sent{}, nodes: map[int64]*corev3.Node{}, current: map[Kind]string{},
		acked: map[Kind]map[string]time.Time{}}
}

func (n *nackTracker) setCurrent(k Kind, v string) {
	n.mu.Lock()
	n.current[k] = v
	n.mu.Unlock()
}

func (n *nackTracker) callbacks() serverv3.CallbackFuncs {
	return serverv3.CallbackFuncs{
		StreamClosedFunc: func(id int64, _ *corev3.Node) {
			n.mu.Lock()
			delete(n.streams, id)
			n.mu.Unlock()
		},
		StreamResponseFunc: func(_ context.Context, id int64, _ *discoveryv3.DiscoveryRequest, resp *discoveryv3.DiscoveryResponse) {
			n.sent(id, resp.GetTypeUrl(), resp.GetNonce(), resp.GetVersionInfo())
		},
		StreamRequestFunc: func(id int64, req *discoveryv3.DiscoveryRequest) error {
			n.request(id, req)
			return nil
		},
		DeltaStreamClosedFunc: func(id int64, _ *corev3.Node) {
			n.mu.Lock()
			delete(n.streams, id)
			delete(n.nodes, id)
			n.mu.Unlock()
		},
		StreamDeltaResponseFunc: func(id int64, _ *discoveryv3.DeltaDiscoveryRequest, resp *discoveryv3.DeltaDiscoveryResponse) {
			n.sent(id, resp.GetTypeUrl(), resp.GetNonce(), resp.GetSystemVersionInfo())
		},
		StreamDeltaRequestFunc: func(id int64, req *discoveryv3.DeltaDiscoveryRequest) error {
			n.mu.Lock()
			node := req.GetNode()
			if node != nil {
				n.nodes[id] = node
			} else {
				node = n.nodes[id]
			}
			n.mu.Unlock()
			if req.GetErrorDetail() != nil {
				// The delta server tracks what each client holds: a rejected
				// resource is not sent again, so there is nothing to hold.
				n.rejected(id, node.GetId(), KindOf(node), req.GetTypeUrl(), req.GetResponseNonce(), req.GetErrorDetail().GetMessage())
			}
			return nil
		},
	}
}

func (n *nackTracker) sent(id int64, typeURL, nonce, version string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	m := n.streams[id]
	if m == nil {
		m = map[string]*sent{}
		n.streams[id] = m
	}
	m[typeURL] = &sent{nonce: nonce, version: version}
}

// request handles one state-of-the-world request: an ACK is recorded; a
// NACK of the version currently served is held.
func (n *nackTracker) request(id int64, req *discoveryv3.DiscoveryRequest) {
	kind := KindOf(req.GetNode())
	n.mu.Lock()
	n.reqs++
	if req.GetErrorDetail() == nil && req.GetResponseNonce() != "" {
		if at := n.acked[kind]; at == nil || len(at) > maxAcked {
			n.acked[kind] = map[string]time.Time{} // only recent versions matter
		}
		if _, ok := n.acked[kind][req.GetVersionInfo()]; !ok {
			n.acked[kind][req.GetVersionInfo()] = n.s.now()
		}
	}
	n.mu.Unlock()
	if req.GetErrorDetail() == nil {
		return
	}
	version, ok := n.rejected(id, req.GetNode().GetId(), kind, req.GetTypeUrl(), req.GetResponseNonce(), req.GetErrorDetail().GetMessage())
	n.mu.Lock()
	hold := ok && version == n.current[kind]
	n.mu.Unlock()
	if hold {
		req.VersionInfo = version // the cache now waits for a newer snapshot
	}
}

// rejected logs and reports a NACK once per rejected response and returns
// the version that response carried.
func (n *nackTracker) rejected(id int64, node string, kind Kind, typeURL, nonce, msg string) (string, bool) {
	n.mu.Lock()
	last := n.streams[id][typeURL]
	if last == nil || last.nonce != nonce {
		n.mu.Unlock()
		return "", false // a NACK of an older response: a newer one is on its way
	}
	first := !last.rejected
	last.rejected = true
	version := last.version
	n.mu.Unlock()
	if first {
		nk := Nack{Node: node, Kind: kind, TypeURL: typeURL, Version: version, Message: msg, At: n.s.now()}
		n.s.log.Warn("xds: a client rejected a configuration; holding it until the next one", "node", node, "kind", kind.String(),
			"type", typeURL, "version", version, "error", msg)
		if n.s.observe != nil {
			n.s.observe(nk)
		}
	}
	return version, true
}

// Acked returns when a node of kind k first acknowledged version v.
func (s *Server) Acked(k Kind, v string) (time.Time, bool) {
	s.nacks.mu.Lock()
	defer s.nacks.mu.Unlock()
	at, ok := s.nacks.acked[k][v]
	return at, ok
}

// Requests returns how many state-of-the-world requests the server has
// received (ACKs, NACKs and subscriptions), for tests that check that a
// rejection causes no storm.
func (s *Server) Requests() int64 {
	s.nacks.mu.Lock()
	defer s.nacks.mu.Unlock()
	return s.nacks.reqs
}
