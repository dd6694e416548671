package qnproxy

import (
	"github.com/turnout-gw/turnout/internal/route"
	"github.com/turnout-gw/turnout/qn"
)

// CanServe reports whether version v of service s can serve a device that
// speaks dev: it speaks dev itself or translates, and it is not gone.
func CanServe(s *route.Service, v *route.Version, dev qn.Version) bool {
	if s == nil || v == nil || v.Lifecycle == route.Gone {
		return false
	}
	return upstreamSpeaks(v) == dev || v.Translate
}

// DeviceBucket returns the split bucket of a device: from its device_id
// when it has one (so it is the same on every connection), else rnd.
func DeviceBucket(s *route.Service, deviceID string, rnd uint64) uint64 {
	if s != nil && s.Rollout != nil && deviceID != "" {
		return s.Rollout.Bucket(deviceID)
	}
	return rnd % route.Buckets
}

// Pick chooses the version of service s for a device that speaks dev and
// whose split bucket is bucket (DeviceBucket): the rollout split among the
// candidates, then the default, then any candidate (a version speaking dev
// before one translating, by name). It returns nil when no version can
// serve the device. The reason is route.ReasonRollout, route.ReasonDefault
// or route.ReasonCandidate (route.ReasonNone with a nil version).
func Pick(s *route.Service, dev qn.Version, bucket uint64) (*route.Version, route.Reason) {
	if s == nil {
		return nil, route.ReasonNone
	}
	if ro := s.Rollout; ro != nil {
		v := ro.Pick(bucket)
		if CanServe(s, v, dev) {
			return v, route.ReasonRollout
		}
		other := ro.From
		if v == ro.From {
			other = ro.To
		}
		// The other side serves the device only if the split can send it
		// there at all: a `to` at weight 0 (rolled back) takes no one.
		if CanServe(s, other, dev) && (other == ro.From || ro.Weight > 0) {
			return other, route.ReasonRollout
		}
	}
	if CanServe(s, s.Default, dev) {
		return s.Default, route.ReasonDefault
	}
	var translating *route.Version
	for _, v := range s.Versions {
		if !CanServe(s, v, dev) {
			continue
		}
		if upstreamSpeaks(v) == dev {
			return v, route.ReasonCandidate
		}
		if translating == nil {
			translating = v
		}
	}
	if translating != nil {
		return translating, route.ReasonCandidate
	}
	return nil, route.ReasonNone
}
