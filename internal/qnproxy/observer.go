package qnproxy

import (
	"sync"
	"sync/atomic"

	"github.com/turnout-gw/turnout/qn"
)

// Observer is told about connections, frames and translation losses, for
// metrics. Its methods must be fast and safe for concurrent use.
type Observer interface {
	// Connected counts a device connection routed to version.
	Connected(service, version string)
	// FrameCounter returns the function a connection on (service, version)
	// calls for each frame it carries, in either direction. It is called
	// once per connection.
	FrameCounter(service, version string) func(qn.Type)
	// Dropped counts n values of field that a v2 → v1 translation dropped.
	Dropped(service, field string, n int)
	// Rejected counts a connection closed for reason (RejectNotQN, ...).
	Rejected(service, reason string)
}

// The reasons a connection is refused or closed early.
const (
	RejectNotQN     = "not_qn"      // the first bytes are not a QN frame
	RejectMalformed = "malformed"   // a frame failed to decode
	RejectTooLarge  = "too_large"   // a frame above qn.max_frame
	RejectTimeout   = "timeout"     // no first frame in time, or idle
	RejectCapacity  = "capacity"    // qn.max_connections reached
	RejectNoVersion = "no_version"  // no version speaks or translates the device's QN version
	RejectUpstream  = "upstream"    // no target of the version could be dialled
	RejectGrace     = "grace"       // closed after grace on a version that lost the device
	RejectUpstreamQ = "upstream_qn" // the server sent a malformed frame
)

// nopObserver observes nothing.
type nopObserver struct{}

func (nopObserver) Connected(string, string)                  {}
func (nopObserver) FrameCounter(string, string) func(qn.Type) { return func(qn.Type) {} }
func (nopObserver) Dropped(string, string, int)               {}
func (nopObserver) Rejected(string, string)                   {}

// VersionStats are the counters of one version of a QN service since start.
type VersionStats struct {
	Connections     int64 `json:"connections"` // routed to the version
	Active          int64 `json:"active"`      // open now
	Frames          int64 `json:"frames"`      // both directions
	Data            int64 `json:"data"`        // DATA frames of devices
	Acks            int64 `json:"acks"`        // ACKs of the server
	Nacks           int64 `json:"nacks"`       // NACKs of the server
	Errors          int64 `json:"errors"`      // ERROR frames of the server
	ConnectFailures int64 `json:"connect_failures"`
	Refused         int64 `json:"refused"`    // frames translation refused (NACKed by Turnout)
	Unanswered      int64 `json:"unanswered"` // DATA frames the server did not answer within the upstream's timeout
	Dropped         int64 `json:"dropped_fields"`
	DroppedFlags    int64 `json:"dropped_flags"` // v2 flag bits lost translating to v1
}

type versionCounters struct {
	connections, active, frames, data, acks, nacks, errors, connectFailures, refused, unanswered, dropped, droppedFlags atomic.Int64
}

func (c *versionCounters) snapshot() VersionStats {
	return VersionStats{
		Connections: c.connections.Load(), Active: c.active.Load(), Frames: c.frames.Load(), Data: c.data.Load(),
		Acks: c.acks.Load(), Nacks: c.nacks.Load(), Errors: c.errors.Load(), ConnectFailures: c.connectFailures.Load(),
		Refused: c.refused.Load(), Unanswered: c.unanswered.Load(), Dropped: c.dropped.Load(), DroppedFlags: c.droppedFlags.Load(),
	}
}

// counters holds the counters per (service, version).
type counters struct {
	m sync.Map // [2]string -> *versionCounters
}

func (c *counters) of(service, version string) *versionCounters {
	k := [2]string{service, version}
	if v, ok := c.m.Load(k); ok {
		return v.(*versionCounters)
	}
	v, _ := c.m.LoadOrStore(k, &versionCounters{})
	return v.(*versionCounters)
}

// Stats returns the counters of every version of service seen so far.
func (c *counters) stats(service string) map[string]VersionStats {
	out := map[string]VersionStats{}
	c.m.Range(func(k, v any) bool {
		if kk := k.([2]string); kk[0] == service {
			out[kk[1]] = v.(*versionCounters).snapshot()
		}
		return true
	})
	return out
}
