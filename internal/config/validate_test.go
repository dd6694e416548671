package config

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// vcase is one table case for a node's Validate: the node written in YAML
// and the messages (without positions) Validate must return, in order.
type vcase struct {
	name string
	src  string
	want []string
}

// runValidate decodes each case into a fresh T, without defaults, and
// compares the messages of (*T).Validate with the case's.
func runValidate[T any, PT interface {
	*T
	Validate() error
}](t *testing.T, cases []vcase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var x T
			decodeInto(t, tc.src, reflect.ValueOf(&x).Elem())
			got := messages(PT(&x).Validate())
			if !slices.Equal(got, tc.want) {
				t.Errorf("Validate of\n%s\ngot  %q\nwant %q", tc.src, got, tc.want)
			}
		})
	}
}

func decodeInto(t *testing.T, src string, v reflect.Value) {
	t.Helper()
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(src), &root); err != nil {
		t.Fatal(err)
	}
	tr := fromYAML(&root)
	d := newDecoder("t.yaml", tr, true)
	if tr.nodes[0].kind != 0 {
		d.decode(&tr.nodes[0], v, typeInfoOf(v.Type()))
	}
	placeUnwritten(v, Pos{File: "t.yaml", Line: 1, Col: 1})
	if err := d.errs.err(); err != nil {
		t.Fatalf("decoding %q: %v", src, err)
	}
}

func messages(err error) []string {
	var out []string
	for _, e := range Flatten(err) {
		if e.Pos.Line < 1 {
			out = append(out, "NO POSITION: "+e.Msg)
			continue
		}
		out = append(out, e.Msg)
	}
	return out
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestConfigValidate(t *testing.T) {
	runValidate[Config](t, []vcase{
		{"empty", ``, nil},
		{"listeners", "listen: 127.0.0.1:8080\nadmin: {listen: \"127.0.0.1:9000\"}\nxds: {listen: \":18000\"}\ntls: {listen: \":8443\", cert: c, key: k}", nil},
		{"ipv6 and port 0", "listen: \"[::1]:0\"\nadmin: {listen: \"[::1]:0\"}", nil},
		{"listen without port", "listen: localhost", []string{`listen: "localhost" is not a host:port address (e.g. 127.0.0.1:8080 or :8080)`}},
		{"listen named port", "listen: localhost:http", []string{`listen: port "http" of "localhost:http" must be a number from 0 to 65535`}},
		{"listen signed port", "listen: localhost:+80", []string{`listen: port "+80" of "localhost:+80" must be a number from 0 to 65535`}},
		{"admin equals listen", "listen: 127.0.0.1:8080\nadmin: {listen: 127.0.0.1:8080}",
			[]string{"admin.listen: 127.0.0.1:8080 is also the address of listen; each listener needs its own address"}},
		{"wildcard collides", "listen: :9000\nxds: {listen: 10.0.0.1:9000}",
			[]string{"xds.listen: 10.0.0.1:9000 is also the address of listen; each listener needs its own address"}},
		{"xds on default admin", "xds: {listen: 127.0.0.1:9901}",
			[]string{"xds.listen: 127.0.0.1:9901 is also the address of admin.listen (its default); each listener needs its own address"}},
		{"different hosts", "listen: 127.0.0.1:9000\nadmin: {listen: 127.0.0.2:9000}", nil},
		{"tls without cert and key", "tls: {listen: \":8443\"}", []string{
			"tls.cert: required: the path of the PEM certificate (chain) to serve",
			"tls.key: required: the path of the PEM private key of cert"}},
		{"log", "log: {level: trace, format: yaml}", []string{
			`log.level: "trace" is not a log level; use debug, info, warn or error`,
			`log.format: "yaml" is not a log format; use text or json`}},
		{"access log destinations", "log: {access: stdout}", nil},
		{"access log file", "log: {access: logs/access.log}", nil},
		{"access log directory", "log: {access: /var/log/}", []string{
			`log.access: "/var/log/" is a directory; use stdout, stderr or a file path such as access.log`}},
		{"access log spaces", "log: {access: \" stdout\"}", []string{
			`log.access: " stdout" has leading or trailing spaces; use stdout, stderr or a file path`}},
		{"token env", "admin: {token_env: 1TOKEN}", []string{
			`admin.token_env: "1TOKEN" is not an environment variable name (letters, digits and '_', not starting with a digit)`}},
		{"dangling upstream", "upstreams: {a: {targets: [http://a]}}\nservices: {s: {default: v1, versions: {v1: {upstream: b}}}}", []string{
			`services.s.versions.v1.upstream: upstream "b" is not declared in upstreams (declared: a)`}},
		{"empty entries", "upstreams: {a: }\nservices: {s: }", []string{
			"upstreams.a.targets: at least one target URL is required, e.g. [http://127.0.0.1:9001]",
			"services.s.versions: at least one version is required, e.g. versions: {v1: {upstream: NAME}}",
			"services.s.default: required: the version that serves requests asking for none (declared: none)"}},
		{"odd names are quoted", "upstreams: {\"a b\": {targets: [http://a]}}", []string{
			`upstreams."a b": upstream name "a b" must not contain '/' or whitespace`}},
	})
}

func TestConfigValidateServiceConflicts(t *testing.T) {
	base := "upstreams: {u: {targets: [http://u]}}\nservices:\n"
	svc := func(name, match string) string {
		return "  " + name + ": {match: " + match + ", default: v1, versions: {v1: {upstream: u}}}\n"
	}
	runValidate[Config](t, []vcase{
		{"same host and prefix", base + svc("a", "{hosts: [x.com], path_prefix: /p}") + svc("b", "{hosts: [y.com, X.com], path_prefix: /p}"), []string{
			`services.b.match: services.a also matches host "x.com" with path_prefix "/p"; give one of them other hosts or another path_prefix`}},
		{"reported at the later one", base + svc("b", "{path_prefix: /p}") + svc("a", "{path_prefix: /p}"), []string{
			`services.a.match: services.b also matches any host with path_prefix "/p"; give one of them other hosts or another path_prefix`}},
		{"different prefix", base + svc("a", "{hosts: [x.com], path_prefix: /p}") + svc("b", "{hosts: [x.com], path_prefix: /q}"), nil},
		{"host vs any host", base + svc("a", "{hosts: [x.com], path_prefix: /p}") + svc("b", "{path_prefix: /p}"), nil},
		{"default prefix is /", base + svc("a", "{path_prefix: /}") + svc("b", "{}"), []string{
			`services.b.match: services.a also matches any host with path_prefix "/"; give one of them other hosts or another path_prefix`}},
	})
}

func TestLimitsValidate(t *testing.T) {
	runValidate[Limits](t, []vcase{
		{"ok", "fallback_body: 1MiB\nmax_header_bytes: 0\nidle_timeout: 1m\nshutdown_grace: 5s\n" +
			"request_body_timeout: 30s\nwrite_timeout: 10s\nmax_request_body_bytes: 10MiB", nil},
		{"response headers", "max_response_header_bytes: 64KiB", nil},
	})
	l := Limits{FallbackBody: -1, IdleTimeout: -1, ShutdownGrace: -1, RequestBodyTimeout: -1, WriteTimeout: -1,
		MaxRequestBodyBytes: -1, MaxResponseHeaderBytes: -1}
	if got := messages(l.Validate()); len(got) != 7 {
		t.Errorf("negative limits: got %q, want 7 problems", got)
	}
}

func TestUpstreamValidate(t *testing.T) {
	runValidate[Upstream](t, []vcase{
		{"ok", "targets: [http://a:80, https://b/base/]\ntimeout: 1s\nhealth: {path: /h, interval: 1s}", nil},
		{"no targets", "protocol: http1", []string{"targets: at least one target URL is required, e.g. [http://127.0.0.1:9001]"}},
		{"bad urls", `targets: ["ftp://x", "http//x", "http://", "http://a?x=1", "http://a#f", "http://a:0", "http://a b", "//a"]`, []string{
			`targets[0]: "ftp://x" has scheme "ftp"; only http:// and https:// are allowed`,
			`targets[1]: "http//x" is not an absolute http:// or https:// URL (e.g. http://127.0.0.1:9001)`,
			`targets[2]: "http://" has no host`,
			`targets[3]: "http://a?x=1" must not have a query`,
			`targets[4]: "http://a#f" must not have a fragment`,
			`targets[5]: "http://a:0" has port "0"; use a number from 1 to 65535`,
			`targets[6]: "http://a b" is not a valid URL: invalid character " " in host name`,
			`targets[7]: "//a" is not an absolute http:// or https:// URL (e.g. http://127.0.0.1:9001)`}},
		{"no scheme", `targets: ["127.0.0.1:9001", "users-v1.internal/base"]`, []string{
			`targets[0]: "127.0.0.1:9001" has no scheme; write http://127.0.0.1:9001 or https://127.0.0.1:9001`,
			`targets[1]: "users-v1.internal/base" has no scheme; write http://users-v1.internal/base or https://users-v1.internal/base`}},
		{"duplicates after normalising", "targets: [http://A:80/, http://a, https://a, https://a:443]", []string{
			`targets[1]: "http://a" is already listed as targets[0]`,
			`targets[3]: "https://a:443" is already listed as targets[2]`}},
		{"h2 needs https", "targets: [http://a, https://b]\nprotocol: h2", []string{
			`targets[0]: "http://a" is a cleartext target but protocol is h2, which needs https:// targets; use h2c for HTTP/2 without TLS`}},
		{"h2c needs http", "targets: [http://a, HTTPS://b]\nprotocol: h2c", []string{
			`targets[1]: "HTTPS://b" is an https:// target but protocol is h2c, which is cleartext; use h2 (or http1) for https targets`}},
		{"unknown protocol", "targets: [http://a]\nprotocol: HTTP1", []string{`protocol: "HTTP1" is not a protocol; use http1, h2 or h2c`}},
		{"eject_after", "targets: [http://a]\neject_after: -2", []string{"eject_after: -2 must not be negative"}},
		{"tls server name", "targets: [https://a]\ntls: {server_name: \"*.a.com\"}", []string{`tls.server_name: "*.a.com" must be a host name without wildcard or port`}},
		{"tls server name ip", "targets: [https://a]\ntls: {server_name: \"::1\", insecure_skip_verify: true}", nil},
		{"h2 tuning", "targets: [http://a]\nprotocol: h2c\nh2: {ping_interval: 0s, ping_timeout: 2s}", nil},
		{"h2 tuning on http1", "targets: [http://a]\nh2: {ping_interval: 5s}", []string{
			"h2: applies to HTTP/2 upstreams only; set protocol: h2 or h2c, or remove it"}},
	})
}

func TestHealthValidate(t *testing.T) {
	runValidate[Health](t, []vcase{
		{"ok", "path: /healthz?full=1\ninterval: 2s\ntimeout: 1s", nil},
		{"missing all", "timeout: 1s", []string{
			"path: required: the path to probe on each target, e.g. /healthz",
			"interval: must be more than 0 when health checks are configured, e.g. 2s"}},
		{"relative path", "path: healthz\ninterval: 1s", []string{`path: "healthz" must start with "/", e.g. /healthz`}},
	})
}

func TestMatchValidate(t *testing.T) {
	runValidate[Match](t, []vcase{
		{"ok", `{hosts: [a.com, "*.a.com", "a.com:8443", 10.0.0.1, "[::1]:80", under_score.local], path_prefix: /users}`, nil},
		{"bad hosts", `{hosts: ["", "http://a.com", "a.com/x", "a.*.com", "a..com", "a.com:0", "a.com", "A.COM"]}`, []string{
			"hosts[0]: a host must not be empty",
			`hosts[1]: "http://a.com" must be a bare host name, without a scheme`,
			`hosts[2]: "a.com/x" must be a bare host name, without a path`,
			`hosts[3]: "a.*.com" is not a valid host; the only wildcard allowed is a leading "*."`,
			`hosts[4]: "a..com" is not a valid host name (letters, digits, '-' and '.', optionally with :PORT)`,
			`hosts[5]: "a.com:0" has port "0"; use a number from 1 to 65535`,
			`hosts[7]: "A.COM" is already listed as hosts[6]`}},
		{"prefix", "{path_prefix: users}", []string{`path_prefix: "users" must start with "/"`}},
		{"prefix with query", `{path_prefix: "/users?x"}`, []string{`path_prefix: "/users?x" must be a plain path, without spaces, query or fragment`}},
	})
}

func TestNegotiateValidate(t *testing.T) {
	runValidate[Negotiate](t, []vcase{
		{"ok", "{sources: [query, path], header: X-V, query: api-version, accept_vendor: application/vnd.example}", nil},
		{"sources", "{sources: [header, cookie, header]}", []string{
			`sources[1]: "cookie" is not a source; use header, accept, path, query or body`,
			`sources[2]: "header" is already listed as sources[0]`}},
		{"body", "{sources: [header, body], body: /api_version, max_body: 1KiB}", nil},
		{"body escaped", "{body: /meta/a~1b~0c}", nil},
		{"body source without pointer", "{sources: [header, body]}", []string{
			`sources[1]: the body source needs negotiate.body, the JSON Pointer of the version in the body (e.g. body: /api_version)`}},
		{"body not listed", "{sources: [header], body: /v}", []string{
			`body: sources does not list body: add body to sources where it takes precedence (e.g. [header, body])`}},
		{"body not a pointer", "{body: api_version}", []string{
			`body: "api_version" is not a JSON Pointer: it must start with /, e.g. /api_version`}},
		{"body bad escape", "{body: /a~2}", []string{
			`body: "/a~2" is not a JSON Pointer: ~ must be followed by 0 (for ~) or 1 (for /)`}},
		{"body whole document", `{body: ""}`, []string{
			`body: an empty JSON Pointer names the whole body; name the member, e.g. /api_version`}},
		{"max_body without body", "{max_body: 1KiB}", []string{
			`max_body: bounds the body read for negotiate.body, which is not set`}},
		{"max_body zero", "{body: /v, max_body: 0}", []string{
			`max_body: must be above 0 (default 65536 bytes)`}},
		{"header", `{header: "X:V"}`, []string{`header: "X:V" is not a valid header name`}},
		{"vendor with suffix", "{accept_vendor: application/vnd.x+json}", []string{
			`accept_vendor: "application/vnd.x+json" must not have a +suffix; write application/vnd.x (requests may send application/vnd.x.v2+json)`}},
		{"vendor with params", `{accept_vendor: "application/vnd.x; version=2"}`, []string{
			`accept_vendor: "application/vnd.x; version=2" must be a bare media type without parameters, e.g. application/vnd.example`}},
		{"vendor without subtype", "{accept_vendor: vnd.example}", []string{
			`accept_vendor: "vnd.example" is not a media type of the form type/subtype, e.g. application/vnd.example`}},
	})
}

func TestVersionValidate(t *testing.T) {
	runValidate[Version](t, []vcase{
		{"ok", "{upstream: u, lifecycle: deprecated, sunset: 2027-01-01, deprecated_at: 2026-01-01, successor: v2}", nil},
		{"sunset on active is allowed", "{upstream: u, sunset: 2027-01-01}", nil},
		{"missing upstream", "{lifecycle: active}", []string{"upstream: required: the name of the upstream that serves this version (or served_by: VERSION)"}},
		{"lifecycle", "{upstream: u, lifecycle: retired}", []string{`lifecycle: "retired" is not a lifecycle; use active, deprecated, redirect or gone`}},
		{"redirect without successor", "{upstream: u, lifecycle: redirect}", []string{"successor: required when lifecycle is redirect: the version clients are redirected to"}},
		{"sunset before deprecation", "{upstream: u, sunset: 2025-01-01, deprecated_at: 2026-01-01}", []string{"sunset: 2025-01-01T00:00:00Z is before deprecated_at (2026-01-01T00:00:00Z)"}},
	})
	v := &Version{Name: "v1", Upstream: "u", Successor: "v1"}
	if got := messages(v.Validate()); !slices.Equal(got, []string{`NO POSITION: successor: a version cannot be its own successor ("v1")`}) {
		t.Errorf("self successor: %q", got)
	}
}

func TestServiceValidate(t *testing.T) {
	const vs = "versions: {v1: {upstream: u}, v2: {upstream: u}, old: {upstream: u, lifecycle: gone}}\n"
	runValidate[Service](t, []vcase{
		{"ok", "default: v1\n" + vs, nil},
		{"default gone", "default: old\n" + vs, []string{`default: version "old" is gone and cannot serve traffic (versions not gone: v1, v2)`}},
		{"dangling everything", "default: v9\n" + vs + `rules:
  - {name: a, match: {method: GET}, version: v3}
  - {name: b, match: {method: GET}, experiment: {arms: {v1: 50, v4: 50}}}
rollout: {from: v5, to: old, analysis: {window: 1s, interval: 1s}}
mirror: {to: v6}
`, []string{
			`default: version "v9" is not declared in versions (declared: old, v1, v2)`,
			`rules[0].version: version "v3" is not declared in versions (declared: old, v1, v2)`,
			`rules[1].experiment.arms.v4: version "v4" is not declared in versions (declared: old, v1, v2)`,
			`rollout.from: version "v5" is not declared in versions (declared: old, v1, v2)`,
			`rollout.to: version "old" is gone and cannot serve traffic (versions not gone: v1, v2)`,
			`mirror.to: version "v6" is not declared in versions (declared: old, v1, v2)`}},
		{"duplicate rule names", "default: v1\n" + vs + "rules: [{name: a, match: {method: GET}, version: v1}, {name: a, match: {method: PUT}, version: v2}]", []string{
			`rules[1].name: "a" is already the name of rules[0]; rule names must be unique within a service`}},
		{"redirect loop", "default: v1\nversions:\n  v1: {upstream: u}\n  a: {upstream: u, lifecycle: redirect, successor: b}\n  b: {upstream: u, lifecycle: redirect, successor: c}\n  c: {upstream: u, lifecycle: redirect, successor: a}\n  d: {upstream: u, lifecycle: redirect, successor: a}", []string{
			"versions.a.successor: redirect loop a -> b -> c -> a; a chain of redirects must end at a version that serves traffic"}},
		{"diff rate needs compare", "default: v1\n" + vs + "rollout: {from: v1, to: v2, analysis: {window: 10s, interval: 1s, max_diff_rate: 0.1}}\nmirror: {to: v2}", []string{
			"rollout.analysis.max_diff_rate: needs mirror with compare in this service to measure response differences (e.g. mirror: {to: v2, compare: {}})"}},
		{"bad version name", "default: v1\nversions: {v1: {upstream: u}, \"v/2\": {upstream: u}}", []string{
			`versions.v/2: version name "v/2" must not contain '/' or whitespace`}},
		{"nil rule", "default: v1\n" + vs + "rules: [~]", []string{"rules[0]: empty rule; a rule needs name, match and version or experiment"}},
	})
}

func TestRuleValidate(t *testing.T) {
	runValidate[Rule](t, []vcase{
		{"ok version", "{name: r, match: {header: {X-A: b}}, version: v1}", nil},
		{"ok experiment", "{name: r, match: {path_prefix: /a}, experiment: {arms: {v1: 99.5, v2: 0.5}}}", nil},
		{"nothing", "{}", []string{
			"name: required: a name for the rule, unique within the service",
			"match: needs at least one condition: header, cookie, query, host, method, path_prefix, expr or client_cert",
			"version: a rule needs either version (send matching requests there) or experiment (split them)"}},
		{"both", "{name: r, match: {method: GET}, version: v1, experiment: {arms: {v1: 50, v2: 50}}}", []string{
			"experiment: a rule takes either version or experiment, not both"}},
	})
}

func TestRuleMatchValidate(t *testing.T) {
	runValidate[RuleMatch](t, []vcase{
		{"ok", `{header: {X-A: "1"}, cookie: {sid: x}, query: {debug: "1"}, host: "*.a.com", method: [GET, M-SEARCH], path_prefix: /a, expr: "true"}`, nil},
		{"bad", `{header: {"X A": "1"}, cookie: {"a=b": x}, query: {"": "1"}, host: "a/b", method: [get, "G T"], path_prefix: a, expr: ""}`, []string{
			`header."X A": "X A" is not a valid header name`,
			`cookie.a=b: "a=b" is not a valid cookie name`,
			`query."": "" is not a valid query parameter name`,
			`host: "a/b" must be a bare host name, without a path`,
			`method[0]: "get" must be written in upper case (GET)`,
			`method[1]: "G T" is not an HTTP method name`,
			`path_prefix: "a" must start with "/"`,
			`expr: must not be empty; write a boolean expression or leave expr out`}},
	})
}

func TestExperimentValidate(t *testing.T) {
	runValidate[Experiment](t, []vcase{
		{"ok", "{sticky: cookie:sid, arms: {a: 33.333333333333336, b: 33.333333333333336, c: 33.33333333333333}}", nil},
		{"per request", "{arms: {a: 0, b: 100}}", nil},
		{"one arm", "{arms: {a: 100}}", []string{"arms: an experiment needs at least 2 arms (version: weight), got 1"}},
		{"sum 90", "{arms: {a: 45, b: 45}}", []string{"arms: weights sum to 90; they must sum to 100"}},
		{"out of range", "{arms: {a: 150, b: -50}}", []string{
			"arms.a: 150 is out of range; use a percentage from 0 to 100",
			"arms.b: -50 is out of range; use a percentage from 0 to 100"}},
		{"nan", "{arms: {a: nan, b: 100}}", []string{"arms.a: NaN is out of range; use a percentage from 0 to 100"}},
		{"percent sign", `{arms: {a: 50%, b: 50}}`, nil},
	})
	e := &Experiment{Sticky: StickyKey{Kind: "body", Name: "x"}, Arms: map[string]float64{"a": 50, "b": 50}}
	if got := messages(e.Validate()); len(got) != 1 || !strings.HasPrefix(got[0], "NO POSITION: sticky: invalid sticky key") {
		t.Errorf("sticky set in Go: %q", got)
	}
}

func TestRolloutValidate(t *testing.T) {
	const a = "analysis: {window: 10s, interval: 1s}\n"
	runValidate[Rollout](t, []vcase{
		{"ok", "from: v1\nto: v2\nweight: 12.5\nsteps: [0.5, 1, 100]\nstep_interval: 1m\non_failure: pause\nnotify: [\"https://h.example/x?y=1\"]\n" + a, nil},
		{"missing", a, []string{"from: required: the version traffic moves away from", "to: required: the version traffic moves to"}},
		{"same", "from: v1\nto: v1\n" + a, []string{`to: "v1" is also from; a rollout moves traffic between two different versions`}},
		{"weight", "from: a\nto: b\nweight: 100.5\n" + a, []string{"weight: 100.5 is out of range; use a percentage from 0 to 100"}},
		{"steps", "from: a\nto: b\nsteps: [10, 10, -1, 101]\nstep_interval: 1s\n" + a, []string{
			"steps[1]: 10 is not more than steps[0] (10); steps must strictly increase",
			"steps[2]: -1 is out of range; a step is a percentage more than 0 and at most 100",
			"steps[3]: 101 is out of range; a step is a percentage more than 0 and at most 100"}},
		{"steps need interval", "from: a\nto: b\nsteps: [50, 100]\n" + a, []string{
			"step_interval: required when steps are set: how long each step lasts, e.g. 30s"}},
		{"on_failure and notify", "from: a\nto: b\non_failure: ignore\nnotify: [ftp://x, \"https://h/#f\"]\n" + a, []string{
			`on_failure: "ignore" is not an action; use rollback or pause`,
			`notify[0]: "ftp://x" has scheme "ftp"; only http:// and https:// are allowed`,
			`notify[1]: "https://h/#f" must not have a fragment`}},
	})
}

func TestAnalysisValidate(t *testing.T) {
	runValidate[Analysis](t, []vcase{
		{"ok", "{window: 30s, interval: 30s, min_requests: 0, max_error_rate: 0, max_diff_rate: 1, max_contract_violation_rate: 0.5, margin: 0, relative: true}", nil},
		{"zero window", "{interval: 1s}", []string{"window: must be more than 0, e.g. 10s"}},
		{"interval", "{window: 1s}", []string{"interval: must be more than 0, e.g. 1s"}},
		{"interval longer", "{window: 1s, interval: 2s}", []string{"interval: 2s is longer than window (1s); evaluate at least once per window"}},
		{"rates", "{window: 1s, interval: 1s, min_requests: -1, max_error_rate: -0.1, max_diff_rate: 2, max_contract_violation_rate: inf, margin: -1}", []string{
			"min_requests: -1 must not be negative",
			"max_error_rate: -0.1 is out of range; use a fraction from 0 to 1 (0.05 = 5%)",
			"max_diff_rate: 2 is out of range; use a fraction from 0 to 1 (0.05 = 5%)",
			"max_contract_violation_rate: +Inf is out of range; use a fraction from 0 to 1 (0.05 = 5%)",
			"margin: -1 must be a number of 0 or more"}},
	})
}

func TestMirrorValidate(t *testing.T) {
	runValidate[Mirror](t, []vcase{
		{"ok", "{to: v2, percent: 0.1, methods: [GET, POST], max_body: 1KiB, timeout: 1s, compare: {}}", nil},
		{"bad", "{percent: -5, methods: [Get]}", []string{
			"to: required: the version that receives the copies",
			"percent: -5 is out of range; use a percentage from 0 to 100",
			`methods[0]: "Get" must be written in upper case (GET)`}},
	})
}

func TestContractValidate(t *testing.T) {
	runValidate[Contract](t, []vcase{
		{"ok", "{validate_percent: 12.5, max_body: 64KiB, client_key: header:X-Client-ID}", nil},
		{"empty", "{}", nil},
		{"bad", "{validate_percent: 101}", []string{
			"validate_percent: 101 is out of range; use a percentage from 0 to 100"}},
	})
}

func TestCompareValidate(t *testing.T) {
	runValidate[Compare](t, []vcase{
		{"ok", `{ignore: [/a, "/b~0c/~1d"], unordered: [/items], tolerance: {/total: 0.5, /n: 0}, headers: [ETag], noise: true}`, nil},
		{"bad", `{ignore: [a], unordered: ["/x~"], tolerance: {b: 1, /c: -1, /d: nan}, headers: ["A B"]}`, []string{
			`ignore[0]: "a" is not a JSON Pointer; it must start with "/", e.g. /meta/request_id`,
			`unordered[0]: "/x~" is not a valid JSON Pointer; '~' must be written ~0 and '/' inside a name ~1`,
			`tolerance: "b" is not a JSON Pointer; it must start with "/", e.g. /meta/request_id`,
			`tolerance: -1 for "/c" must be a number of 0 or more`,
			`tolerance: NaN for "/d" must be a number of 0 or more`,
			`headers[0]: "A B" is not a valid header name`}},
	})
}

func TestSmallNodesValidate(t *testing.T) {
	runValidate[XDS](t, []vcase{{"missing listen", "{}", []string{"listen: required when xds is set, e.g. 127.0.0.1:18000"}},
		{"envoy listen", "{listen: \"127.0.0.1:18000\", envoy_listen: \"0.0.0.0:10000\"}", nil},
		{"bad envoy listen", "{listen: \"127.0.0.1:18000\", envoy_listen: nope}", []string{`envoy_listen: "nope" is not a host:port address (e.g. 127.0.0.1:8080 or :8080)`}},
		{"envoy listen host name", "{listen: \"127.0.0.1:18000\", envoy_listen: \"localhost:10000\"}", []string{`envoy_listen: "localhost:10000": Envoy listens on an IP address, not a host name (e.g. 0.0.0.0:10000)`}},
		{"authz cluster", "{listen: \"127.0.0.1:18000\", authz_cluster: edge_to_turnout}", nil},
		{"blank authz cluster", "{listen: \"127.0.0.1:18000\", authz_cluster: \"\"}", []string{`authz_cluster: "": want the name of the Envoy bootstrap cluster that reaches Turnout's xds.listen, e.g. turnout_xds`}}})
	runValidate[ServerTLS](t, []vcase{{"ok", "{cert: c, key: k}", nil}})
	runValidate[Admin](t, []vcase{{"bad listen", "{listen: \"127.0.0.1:\"}", []string{`listen: port "" of "127.0.0.1:" must be a number from 0 to 65535`}}})
	runValidate[Log](t, []vcase{{"defaults", "{}", nil}})
	runValidate[UpstreamTLS](t, []vcase{{"port", "{server_name: \"a:443\"}", []string{`server_name: "a:443" must be a host name without wildcard or port`}}})
}

// TestValidateBuiltInGo checks that a configuration built in Go (no
// positions, nil entries) is validated without panicking.
func TestValidateBuiltInGo(t *testing.T) {
	c := &Config{
		Upstreams: map[string]*Upstream{"u": nil, "v": {Targets: []string{"http://v"}}},
		Services: map[string]*Service{
			"nil": nil,
			"s": {
				Default:  "v1",
				Versions: map[string]*Version{"v1": {Upstream: "v"}, "v2": nil},
				Rules:    []*Rule{nil, {Name: "r", Match: RuleMatch{Method: []string{"GET"}}, Experiment: &Experiment{}}},
				Rollout:  &Rollout{From: "v1", To: "v2"},
				Mirror:   &Mirror{To: "v1", Compare: &Compare{}},
			},
		},
	}
	got := messages(c.Validate())
	if len(got) < 5 {
		t.Errorf("got %d problems, want at least 5: %q", len(got), got)
	}
}

func TestClientsValidate(t *testing.T) {
	runValidate[Clients](t, []vcase{
		{"header", "{key: header:X-Client-ID, max_clients: 50}", nil},
		{"client_cert", "{key: client_cert}", nil},
		{"address", "{key: address}", nil},
		{"no key", "{max_clients: -1}", []string{
			"key: required: where the client is read, e.g. key: header:X-Client-ID (or cookie:NAME, query:NAME, client_cert, address)",
			"max_clients: must be between 1 and 100000 (default 1000), not -1"}},
	})
	if k, err := ParseClientKey("query:client"); err != nil || k.Sticky() != (StickyKey{Kind: "query", Name: "client"}) || k.String() != "query:client" {
		t.Errorf("ParseClientKey(query:client) = %v, %v", k, err)
	}
	if k, _ := ParseClientKey("address"); !k.Sticky().IsZero() || k.String() != "address" {
		t.Errorf("ParseClientKey(address) = %v", k)
	}
}
