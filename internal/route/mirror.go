package route

import (
	"net/http"
	"slices"

	"github.com/turnout-gw/turnout/internal/config"
)

func compileMirror(s *Service, mc *config.Mirror) *Mirror {
	return &Mirror{To: s.byName[mc.To], Percent: mc.Percent, Methods: slices.Clone(mc.Methods),
		upto: WeightThreshold(mc.Percent), salt: Salt("mirror", s.Name)}
}

// MirrorSalt is the salt of the bucket a sticky key falls in when Decide
// selects a request of service for its mirror: BucketOf(key,
// MirrorSalt(service)) below WeightThreshold(percent) is mirrored.
func MirrorSalt(service string) uint64 { return Salt("mirror", service) }

// mirrorOf selects r for its service's mirror (Decision.Mirror): when the
// service mirrors, the decided version is not the mirror's own, the method
// is listed and the request falls in the mirrored percent — by the
// rollout's sticky key when it carries one, so a user's session is
// mirrored whole or not at all, else by rnd. It never allocates.
func mirrorOf(s *Service, v *Version, r *http.Request, rnd func() uint64) *Version {
	m := s.Mirror
	if m == nil || m.To == nil || v == nil || v == m.To || !slices.Contains(m.Methods, r.Method) {
		return nil
	}
	if m.upto >= Buckets {
		return m.To
	}
	if m.upto == 0 {
		return nil
	}
	if ro := s.Rollout; ro != nil {
		if key := ro.Sticky.Value(r); key != "" {
			if BucketOf(key, m.salt) < m.upto {
				return m.To
			}
			return nil
		}
	}
	if rnd()%Buckets < m.upto {
		return m.To
	}
	return nil
}
