package cli

import (
	"bytes"
	"encoding/json"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/rollout"
	"github.com/turnout-gw/turnout/internal/stats"
)

// run calls Main and returns the exit code, stdout and stderr.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestStatusTable(t *testing.T) {
	f := newFixture(t, "")
	code, out, errOut := run(t, "status", "--admin", f.Srv.URL)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("want a header and one row:\n%s", out)
	}
	if !regexp.MustCompile(`^SERVICE +FROM +TO +STATE +WEIGHT +STEP +UPDATED +REASON$`).MatchString(lines[0]) {
		t.Errorf("header %q", lines[0])
	}
	if !regexp.MustCompile(`^users +v1 +v2 +progressing +10% +1/4 +1m ago +rollout started$`).MatchString(lines[1]) {
		t.Errorf("row %q", lines[1])
	}

	code, out, _ = run(t, "status", "--admin", f.Srv.URL, "-o", "json")
	var list struct {
		Rollouts []rollout.Status `json:"rollouts"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list.Rollouts) != 1 || list.Rollouts[0].Service != "users" {
		t.Fatalf("status -o json: exit %d\n%s", code, out)
	}
}

func TestStatusDetail(t *testing.T) {
	f := newFixture(t, "")
	f.Clock.Advance(time.Second)
	for i := range 40 {
		f.Stats.Record(stats.Key{Service: "users", Version: "v2", Upstream: "users-v2"}, i < 1, 30*time.Millisecond)
	}
	f.Engine.Tick()
	if _, err := f.Engine.Pause("users", "api"); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, "status", "users", "--admin", f.Srv.URL)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"service:  users",
		"rollout:  v1 → v2",
		"state:    paused",
		"weight:   10%",
		"step:     1 of 4: [10%] → 25% → 50% → 100%, every 30s",
		"reason:   paused by api at weight 10",
		"last analysis: pass, ",
		"requests:     40 to v2, 1 failed (min 20); 0 to v1",
		"error_rate:   0.0250 ≤ 0.0500",
		"latency_p95:  ",
		"≤ 500ms",
		"recent events (last 2):",
		"rollout_started  config  rollout v1 → v2 started at weight 10",
		"pause            api     paused by api at weight 10",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("detail lacks %q:\n%s", want, out)
		}
	}

	code, out, _ = run(t, "status", "users", "--admin", f.Srv.URL, "--output", "json")
	var st rollout.Status
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil || st.State != rollout.Paused || st.LastAnalysis == nil {
		t.Fatalf("status users -o json: exit %d\n%s", code, out)
	}
}

func TestStatusNoRollouts(t *testing.T) {
	f := newFixture(t, "")
	if _, err := f.Engine.Status("users"); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := run(t, "status", "orders", "--admin", f.Srv.URL)
	if code != 1 || errOut != "turnout: service \"orders\" has no rollout\n" {
		t.Fatalf("status orders: exit %d, stderr %q", code, errOut)
	}
	code, _, errOut = run(t, "status", "nope", "--admin", f.Srv.URL)
	if code != 1 || errOut != "turnout: unknown service \"nope\"\n" {
		t.Fatalf("status nope: exit %d, stderr %q", code, errOut)
	}
}

func TestActions(t *testing.T) {
	f := newFixture(t, "")
	steps := []struct {
		args   []string
		code   int
		out    string // stdout, or the stderr message on failure
		state  string
		weight float64
	}{
		{[]string{"pause", "users"}, 0, "users: paused at weight 10 (v1 → v2)\n", rollout.Paused, 10},
		{[]string{"pause", "users"}, 1, "turnout: users: action not allowed in this state: cannot pause a rollout that is paused\n", rollout.Paused, 10},
		{[]string{"weight", "users", "25%"}, 0, "users: paused at weight 25 (v1 → v2)\n", rollout.Paused, 25},
		{[]string{"resume", "users"}, 0, "users: progressing at weight 25 (v1 → v2)\n", rollout.Progressing, 25},
		{[]string{"weight", "users", "0.5"}, 0, "users: progressing at weight 0.5 (v1 → v2)\n", rollout.Progressing, 0.5},
		{[]string{"weight", "users", "40"}, 0, "users: progressing at weight 40 (v1 → v2)\n", rollout.Progressing, 40},
		{[]string{"promote", "users"}, 0, "users: promoted at weight 100 (v1 → v2)\n", rollout.Promoted, 100},
		{[]string{"abort", "users"}, 0, "users: rolled_back at weight 0 (v1 → v2)\n", rollout.RolledBack, 0},
		{[]string{"abort", "users"}, 1, "turnout: users: action not allowed in this state: already rolled back\n", rollout.RolledBack, 0},
		{[]string{"promote", "orders"}, 1, "turnout: service \"orders\" has no rollout\n", rollout.RolledBack, 0},
		{[]string{"weight", "nope", "5"}, 1, "turnout: unknown service \"nope\"\n", rollout.RolledBack, 0},
	}
	for _, s := range steps {
		code, out, errOut := run(t, append(s.args, "--admin", f.Srv.URL)...)
		got := out
		if s.code != 0 {
			got = errOut
		}
		if code != s.code || got != s.out {
			t.Fatalf("%v: exit %d, stdout %q, stderr %q; want %d %q", s.args, code, out, errOut, s.code, s.out)
		}
		if st, _ := f.Engine.Status("users"); st.State != s.state || st.Weight != s.weight {
			t.Fatalf("%v: engine is %s at %v; want %s at %v", s.args, st.State, st.Weight, s.state, s.weight)
		}
	}
	code, out, _ := run(t, "resume", "users", "--admin", f.Srv.URL, "-o", "json")
	var st rollout.Status
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil || st.State != rollout.Progressing {
		t.Fatalf("resume -o json: exit %d\n%s", code, out)
	}
}

func TestWeightArgument(t *testing.T) {
	f := newFixture(t, "")
	for _, arg := range []string{"abc", "-5", "-0", "-0.0%", "101", "100.5%", "25%%", "1e2", "0x10", "inf", "NaN", "", "%", "25 %"} {
		code, out, errOut := run(t, "weight", "--admin", f.Srv.URL, "users", "--", arg)
		if code != 2 || out != "" || !strings.Contains(errOut, "invalid PERCENT") {
			t.Errorf("weight %q: exit %d, stdout %q, stderr %q; want a usage error", arg, code, out, errOut)
		}
	}
	for _, arg := range []string{"0", "100%", ".5", "12.", "33.3%"} {
		if code, _, errOut := run(t, "weight", "users", arg, "--admin", f.Srv.URL); code != 0 {
			t.Errorf("weight %q: exit %d: %s", arg, code, errOut)
		}
	}
	if st, _ := f.Engine.Status("users"); st.Weight != 33.3 {
		t.Errorf("weight is %v after 33.3%%", st.Weight)
	}
	for _, args := range [][]string{{"weight", "users"}, {"promote"}, {"pause", "a", "b"}, {"status", "a", "b"}} {
		code, _, errOut := run(t, append(args, "--admin", f.Srv.URL)...)
		if code != 2 || !strings.Contains(errOut, "usage: turnout "+args[0]) {
			t.Errorf("%v: exit %d, stderr %q; want a usage error", args, code, errOut)
		}
	}
	code, _, errOut := run(t, "status", "--admin", f.Srv.URL, "-o", "yaml")
	if code != 2 || !strings.Contains(errOut, `--output "yaml"`) {
		t.Errorf("-o yaml: exit %d, stderr %q", code, errOut)
	}
}

func TestToken(t *testing.T) {
	f := newFixture(t, "s3cret")
	t.Setenv(EnvAdminToken, "")
	code, _, errOut := run(t, "pause", "users", "--admin", f.Srv.URL)
	if code != 1 || errOut != "turnout: the admin API refused the token: set TURNOUT_ADMIN_TOKEN\n" {
		t.Fatalf("no token: exit %d, stderr %q", code, errOut)
	}
	if code, _, errOut := run(t, "status", "--admin", f.Srv.URL); code != 0 {
		t.Fatalf("status needs no token: exit %d: %s", code, errOut)
	}

	t.Setenv(EnvAdminToken, "wrong")
	code, _, errOut = run(t, "weight", "users", "30", "--admin", f.Srv.URL)
	if code != 1 || errOut != "turnout: the admin API refused the token: TURNOUT_ADMIN_TOKEN does not match the server's token\n" {
		t.Fatalf("wrong token: exit %d, stderr %q", code, errOut)
	}
	if st, _ := f.Engine.Status("users"); st.State != rollout.Progressing || st.Weight != 10 {
		t.Fatalf("refused mutations changed the rollout: %s at %v", st.State, st.Weight)
	}

	t.Setenv(EnvAdminToken, "s3cret")
	if code, out, errOut := run(t, "pause", "users", "--admin", f.Srv.URL); code != 0 || !strings.Contains(out, "paused") {
		t.Fatalf("right token: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if st, _ := f.Engine.Status("users"); st.State != rollout.Paused {
		t.Fatalf("state %s after pause", st.State)
	}
}

func TestAdminURL(t *testing.T) {
	f := newFixture(t, "")
	t.Setenv(EnvAdminURL, f.Srv.URL)
	if code, out, errOut := run(t, "status"); code != 0 || !strings.Contains(out, "users") {
		t.Fatalf("$%s: exit %d, stdout %q, stderr %q", EnvAdminURL, code, out, errOut)
	}
	bare := strings.TrimPrefix(f.Srv.URL, "http://") + "/"
	if code, _, errOut := run(t, "status", "--admin", bare); code != 0 {
		t.Fatalf("--admin %s: exit %d: %s", bare, code, errOut)
	}
	code, _, errOut := run(t, "status", "--admin", "ftp://x")
	if code != 2 || !strings.Contains(errOut, "--admin") {
		t.Fatalf("--admin ftp://x: exit %d, stderr %q", code, errOut)
	}
}

func TestAdminUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close()
	want := "turnout: cannot reach the admin API at " + url + ": connection refused (is turnout serve running? use --admin)\n"
	for _, args := range [][]string{{"status"}, {"status", "users"}, {"promote", "users"}, {"weight", "users", "5"}} {
		code, out, errOut := run(t, append(args, "--admin", url)...)
		if code != 1 || errOut != want || out != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 1 %q", args, code, out, errOut, want)
		}
	}
}

func TestMainKnowsAdminCommands(t *testing.T) {
	code, out, errOut := run(t, "--help")
	if code != 0 {
		t.Fatalf("--help: exit %d: %s", code, errOut)
	}
	for _, c := range []string{"status", "promote", "pause", "resume", "abort", "weight"} {
		if !regexp.MustCompile(`(?m)^  ` + c + ` `).MatchString(out) {
			t.Errorf("help lacks %s:\n%s", c, out)
		}
	}
	code, out, _ = run(t, "weight", "--help")
	if code != 0 || !strings.Contains(out, "--admin") || !strings.Contains(out, "--output") || !strings.Contains(out, "TURNOUT_ADMIN_TOKEN") {
		t.Errorf("weight --help:\n%s", out)
	}
}
