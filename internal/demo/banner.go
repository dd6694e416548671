package demo

import (
	"fmt"
	"strings"
)

// Example is one request the banner advertises, in a form both a person
// (Curl) and a test (Path, Headers) can send.
type Example struct {
	// Name identifies the example: pin-header, pin-accept, pin-path,
	// not-acceptable, rule, sticky, deprecated.
	Name string
	// Comment says what the command shows.
	Comment string
	// Path is the request path; Headers are "Name: value" lines.
	Path    string
	Headers []string
	// Curl is the ready-to-paste shell command.
	Curl string
}

// StickyUsers are the X-User-ID values the sticky example loops over.
var StickyUsers = []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"}

// Examples returns the requests the banner shows, against the demo's URL.
func (d *Demo) Examples() []Example {
	u := d.URL
	ex := func(name, comment, path string, include bool, headers ...string) Example {
		var b strings.Builder
		b.WriteString("curl")
		if include {
			b.WriteString(" -i")
		} else {
			b.WriteString(" -s")
		}
		for _, h := range headers {
			fmt.Fprintf(&b, " -H '%s'", h)
		}
		b.WriteString(" " + u + path)
		return Example{Name: name, Comment: comment, Path: path, Headers: headers, Curl: b.String()}
	}
	sticky := Example{
		Name: "sticky",
		Comment: "the sticky rollout split: each X-User-ID always gets the same version (three tries each);\n" +
			"# the rollout's weight decides how many users get v2 (10% at first)",
		Path:    "/users/1",
		Headers: []string{"X-User-ID: alice"},
		Curl: "for u in " + strings.Join(StickyUsers, " ") + "; do\n" +
			"  echo \"$u:\" $(for i in 1 2 3; do curl -s -o /dev/null -D - -H \"X-User-ID: $u\" " + u + "/users/1 | tr -d '\\r' | sed -n 's/^X-Served-Version: //p'; done)\n" +
			"done",
	}
	return []Example{
		ex("deprecated", "v1 is deprecated: note Deprecation, Sunset and Link: </v2/users/1>; rel=\"successor-version\"",
			"/users/1", true, "X-API-Version: 1"),
		ex("pin-header", "pin v2 by header: the v2 shape (structured name, contact, version)",
			"/users/1", false, "X-API-Version: 2"),
		ex("pin-accept", "pin v2 by Accept (vendor media type)",
			"/users/1", false, "Accept: application/vnd.example.v2+json"),
		ex("pin-path", "pin v2 by path: /v2 is set aside, the upstream sees /users/1",
			"/v2/users/1", false),
		ex("not-acceptable", "ask for a version that does not exist: 406, listing v1 and v2",
			"/users/1", true, "X-API-Version: 3"),
		ex("rule", "the \"testers\" rule: unpinned requests with X-Env: canary go to v2",
			"/users/1", false, "X-Env: canary"),
		sticky,
	}
}

// Banner is the text `turnout demo` prints once everything runs.
func (d *Demo) Banner() string {
	var b strings.Builder
	b.WriteString("Turnout demo is running.\n\n")
	fmt.Fprintf(&b, "  gateway     %s\n", d.URL)
	fmt.Fprintf(&b, "  dashboard   %s/   (admin API on the same address)\n", d.AdminURL)
	fmt.Fprintf(&b, "  upstreams   users v1 %s, users v2 %s\n", d.V1URL, d.V2URL)
	fmt.Fprintf(&b, "  config      %s (embedded copy): v1 deprecated, v2 active, rollout v1 -> v2 starting at 10%%, sticky on X-User-ID\n", ConfigName)
	if d.Options.Load {
		fmt.Fprintf(&b, "  load        %g requests/s of mixed traffic (--load=false turns it off)\n", d.Options.Rate)
	} else {
		b.WriteString("  load        off\n")
	}
	if d.Options.FailAfter > 0 {
		fmt.Fprintf(&b, "  fail-after  the v2 sample answers 500 after %s: watch the rollout roll back\n", d.Options.FailAfter)
	}
	b.WriteString("\nTry these:\n")
	for _, e := range d.Examples() {
		fmt.Fprintf(&b, "\n# %s\n%s\n", e.Comment, e.Curl)
	}
	b.WriteString("\nPress Ctrl-C to stop everything.\n")
	return b.String()
}
