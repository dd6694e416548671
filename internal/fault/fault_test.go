package fault

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
)

func TestCompile(t *testing.T) {
	tests := []struct {
		name string
		in   *config.Fault
		nil_ bool
	}{
		{"nil", nil, true},
		{"zero shares", &config.Fault{Delay: &config.FaultDelay{Percent: 0, Duration: config.Duration(time.Second)}, Abort: &config.FaultAbort{Status: 503}}, true},
		{"abort", &config.Fault{Abort: &config.FaultAbort{Percent: 1, Status: 503}}, false},
		{"delay", &config.Fault{Delay: &config.FaultDelay{Percent: 1, Duration: config.Duration(time.Millisecond)}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Compile(tt.in); (got == nil) != tt.nil_ {
				t.Fatalf("Compile = %+v, want nil %v", got, tt.nil_)
			}
		})
	}
}

// TestPickShares draws 100,000 outcomes from a seeded source and checks
// each share within half a percentage point, and that delay and abort are
// drawn independently.
func TestPickShares(t *testing.T) {
	for _, c := range []struct{ delay, abort float64 }{{30, 30}, {0.5, 99.5}, {100, 0}, {12.5, 100}} {
		f := &config.Fault{Delay: &config.FaultDelay{Percent: c.delay, Duration: config.Duration(time.Second)},
			Abort: &config.FaultAbort{Percent: c.abort, Status: 503}}
		s := Compile(f)
		rnd := rand.New(rand.NewPCG(1, 2))
		const n = 100000
		var delayed, aborted, both int
		for range n {
			o := s.Pick(rnd.Uint64())
			if o.Delay > 0 {
				delayed++
				if o.Delay != time.Second {
					t.Fatalf("delay %v, want 1s", o.Delay)
				}
			}
			if o.Abort != 0 {
				aborted++
				if o.Abort != 503 {
					t.Fatalf("abort %d, want 503", o.Abort)
				}
			}
			if o.Delay > 0 && o.Abort != 0 {
				both++
			}
		}
		share := func(k int) float64 { return 100 * float64(k) / n }
		if math.Abs(share(delayed)-c.delay) > 0.5 || math.Abs(share(aborted)-c.abort) > 0.5 {
			t.Errorf("%+v: delayed %.2f%%, aborted %.2f%%", c, share(delayed), share(aborted))
		}
		if want := c.delay * c.abort / 100; math.Abs(share(both)-want) > 0.5 {
			t.Errorf("%+v: both %.2f%%, want %.2f%% (independent draws)", c, share(both), want)
		}
	}
}

func TestPickNil(t *testing.T) {
	var s *Spec
	if o := s.Pick(0); o != (Outcome{}) {
		t.Fatalf("nil spec picked %+v", o)
	}
}
