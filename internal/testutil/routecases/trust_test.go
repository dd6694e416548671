package routecases_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/testutil"
	"github.com/turnout-gw/turnout/internal/testutil/routecases"
	"github.com/turnout-gw/turnout/internal/testutil/routecases/trustcases"
)

// TestTrustCasesRefusedForQN: the table says QN cannot honour a trust
// case (its devices carry no headers to colour or pin by), and validate
// says so too: with users a qn service, the configuration is refused at
// the users service's match and rules, the keys the cases route by.
func TestTrustCasesRefusedForQN(t *testing.T) {
	for _, tc := range routecases.TrustCases {
		if !tc.RefusedBy(trustcases.QN) {
			t.Errorf("%s: not marked refused for QN, whose devices send no headers (internal/qnproxy runs the table)", tc.Name)
		}
	}
	text := testutil.Expand(routecases.TrustYAML, routecases.TrustVars("http://127.0.0.1:9", "http://127.0.0.1:9"))
	text = strings.Replace(text, "  users:\n", "  users:\n    protocol: qn\n    listen: 127.0.0.1:0\n", 1)
	lines := strings.Split(text, "\n")
	want := map[int]string{}
	inUsers := false
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, "  users:"):
			inUsers = true
		case strings.HasPrefix(l, "  ") && !strings.HasPrefix(l, "    "):
			inUsers = false
		case inUsers && (strings.HasPrefix(l, "    match:") || strings.HasPrefix(l, "    rules:")):
			want[i+1] = strings.TrimSpace(l)
		}
	}
	if len(want) != 2 {
		t.Fatalf("found %v in the qn configuration, want match and rules", want)
	}
	_, err := config.Parse("qn.yaml", []byte(text))
	var es config.Errors
	if !errors.As(err, &es) {
		t.Fatalf("Parse: %v, want config.Errors", err)
	}
	for _, e := range es {
		if !e.Warning {
			delete(want, e.Pos.Line)
		}
	}
	if len(want) != 0 {
		t.Errorf("validate did not refuse %v for qn:\n%v", want, err)
	}
}
