package routecases_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/route"
	"github.com/turnout-gw/turnout/internal/testutil"
	"github.com/turnout-gw/turnout/internal/testutil/routecases"
	"github.com/turnout-gw/turnout/internal/testutil/routecases/mirrorcases"
)

// TestMirrorCasesStickyDerived: each sticky case's Mirrored is what the
// routing table derives from its key's bucket, and the sticky cases cover
// both outcomes.
func TestMirrorCasesStickyDerived(t *testing.T) {
	seen := map[bool]bool{}
	for _, tc := range routecases.MirrorCases {
		if tc.Key == "" {
			continue
		}
		if tc.Service != "half" {
			t.Errorf("%s: a sticky case of %s; only half mirrors %d %% by key", tc.Name, tc.Service, mirrorcases.HalfPercent)
		}
		want := route.BucketOf(tc.Key, route.MirrorSalt(tc.Service)) < route.WeightThreshold(mirrorcases.HalfPercent)
		if tc.Mirrored != want {
			t.Errorf("%s: key %q is marked mirrored=%v, its bucket says %v", tc.Name, tc.Key, tc.Mirrored, want)
		}
		seen[want] = true
	}
	if !seen[true] || !seen[false] {
		t.Errorf("sticky cases cover mirrored=%v only", seen)
	}
}

// TestMirrorCasesRefusedForQN: the table says QN cannot honour a mirror
// case (a QN listener sends no copies), and validate says so too: with
// the case's service a qn service, the configuration is refused at its
// `mirror` key.
func TestMirrorCasesRefusedForQN(t *testing.T) {
	vars := routecases.MirrorVars("http://127.0.0.1:9", "http://127.0.0.1:9")
	services := map[string]bool{}
	for _, tc := range routecases.MirrorCases {
		if !tc.RefusedBy(mirrorcases.QN) {
			t.Errorf("%s: not marked refused for QN", tc.Name)
		}
		services[tc.Service] = true
	}
	for svc := range services {
		if err := qnMirrorRefusal(testutil.Expand(routecases.MirrorYAML, vars), svc); err != nil {
			t.Error(err)
		}
	}
}

// qnMirrorRefusal is how QN refuses `mirror`: it returns nil when
// validate refuses text with service svc made a qn service, at the line of
// svc's `mirror` key.
func qnMirrorRefusal(text, svc string) error {
	text = strings.Replace(text, "  "+svc+":\n", "  "+svc+":\n    protocol: qn\n    listen: 127.0.0.1:0\n", 1)
	line, in := 0, false
	for i, l := range strings.Split(text, "\n") {
		switch {
		case l == "  "+svc+":":
			in = true
		case strings.HasPrefix(l, "  ") && !strings.HasPrefix(l, "    "):
			in = false
		case in && strings.HasPrefix(l, "    mirror:"):
			line = i + 1
		}
	}
	if line == 0 {
		return fmt.Errorf("%s: no mirror key in the configuration", svc)
	}
	_, err := config.Parse("qn.yaml", []byte(text))
	var es config.Errors
	if !errors.As(err, &es) {
		return fmt.Errorf("%s: validate accepted mirror for a qn service (%v)", svc, err)
	}
	for _, e := range es {
		if !e.Warning && e.Pos.Line == line && strings.Contains(e.Msg, "mirror") {
			return nil
		}
	}
	return fmt.Errorf("%s: validate did not refuse mirror at qn.yaml:%d for a qn service:\n%w", svc, line, err)
}
