package cli

import (
	"strings"
	"testing"
)

// TestCommandLineMistakes: a negative weight and an unknown subcommand of
// a group are usage errors (exit 2) that say what is wrong; no admin API is
// called for either.
func TestCommandLineMistakes(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"weight", "users", "-5"}, `invalid PERCENT "-5": want a number from 0 to 100`},
		{[]string{"weight", "users", "-0.5"}, `invalid PERCENT "-0.5"`},
		{[]string{"weight", "users", "10", "--nosuch"}, "unknown flag: --nosuch"},
		{[]string{"qn", "nosuch"}, `unknown command "nosuch" for "turnout qn"`},
		{[]string{"cluster", "nosuch"}, `unknown command "nosuch" for "turnout cluster"`},
	} {
		code, out, errOut := run(t, c.args...)
		if code != 2 || !strings.Contains(errOut, c.want) || out != "" {
			t.Errorf("turnout %s: exit %d, stdout %q, stderr %q; want exit 2 saying %q", strings.Join(c.args, " "), code, out, errOut, c.want)
		}
	}
	// A group alone still prints its commands.
	if code, out, _ := run(t, "qn"); code != 0 || !strings.Contains(out, "decode") {
		t.Errorf("turnout qn: exit %d\n%s", code, out)
	}
}
