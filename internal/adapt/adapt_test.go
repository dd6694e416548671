package adapt

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
)

func mustCompile(t testing.TB, src string) *Program {
	t.Helper()
	p, err := Compile(src)
	if err != nil {
		t.Fatalf("Compile(%q): %v", src, err)
	}
	return p
}

func testAdapter() *Adapter { return &Adapter{Version: "v1", ServedBy: "v2", MaxBody: 1 << 20} }

// jsonEqual compares two JSON texts by value.
func jsonEqual(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("result %q is not JSON: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if string(gb) != string(wb) {
		t.Fatalf("body %s, want %s", gb, wb)
	}
}

// TestResponseTransforms: the usual reshapes of an answer's body.
func TestResponseTransforms(t *testing.T) {
	for _, tc := range []struct{ name, prog, in, want string }{
		{"rename", `.body |= {id, name: .full_name}`, `{"id": 7, "full_name": "Ada", "email": "a@x"}`, `{"id": 7, "name": "Ada"}`},
		{"drop", `.body |= del(.email)`, `{"id": 7, "email": "a@x"}`, `{"id": 7}`},
		{"default", `.body.role //= "member"`, `{"id": 7}`, `{"id": 7, "role": "member"}`},
		{"enum", `.body.state |= ({"ACTIVE": "on", "SUSPENDED": "off"}[.] // "unknown")`, `{"state": "SUSPENDED"}`, `{"state": "off"}`},
		{"move", `.body |= (.name = .profile.name | del(.profile))`, `{"profile": {"name": "Ada"}}`, `{"name": "Ada"}`},
		{"array", `.body |= [.items[] | {id, label: .title}]`, `{"items": [{"id": 1, "title": "a"}, {"id": 2, "title": "b"}]}`, `[{"id": 1, "label": "a"}, {"id": 2, "label": "b"}]`},
		{"big ids stay exact", `.`, `{"id": 12345678901234567890}`, `{"id": 12345678901234567890}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := testAdapter()
			r := Response{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(tc.in)}
			if err := a.AdaptResponse(context.Background(), mustCompile(t, tc.prog), &r); err != nil {
				t.Fatal(err)
			}
			if tc.name == "big ids stay exact" && !strings.Contains(string(r.Body), "12345678901234567890") {
				t.Fatalf("body %s lost the id's digits", r.Body)
			}
			jsonEqual(t, r.Body, tc.want)
		})
	}
}

// TestRequestTransform: a request program rewrites the path, query, headers,
// method and body together.
func TestRequestTransform(t *testing.T) {
	a := testAdapter()
	p := mustCompile(t, `.path |= sub("^/users"; "/accounts")
		| .query.page_size = .query.limit | del(.query.limit)
		| .headers["x-client-version"] = "1"
		| del(.headers["x-drop"])
		| .method = "PUT"
		| .body |= {full_name: .name, role: (.role // "member")}`)
	r := Request{Method: "POST", Path: "/users/7", RawQuery: "limit=5&x=a&x=b",
		Header: http.Header{"X-Drop": {"1"}, "Accept": {"application/json"}}, Body: []byte(`{"name": "Ada"}`)}
	if err := a.AdaptRequest(context.Background(), p, &r); err != nil {
		t.Fatal(err)
	}
	if r.Path != "/accounts/7" || r.Method != "PUT" || r.RawQuery != "page_size=5&x=a&x=b" {
		t.Fatalf("got %s %s?%s", r.Method, r.Path, r.RawQuery)
	}
	if r.Header.Get("X-Client-Version") != "1" || r.Header.Get("X-Drop") != "" || r.Header.Get("Accept") != "application/json" {
		t.Fatalf("headers %v", r.Header)
	}
	jsonEqual(t, r.Body, `{"full_name": "Ada", "role": "member"}`)
}

// TestRequestWithoutBody: a request without a body gives the program a null
// body and sends none unless the program makes one.
func TestRequestWithoutBody(t *testing.T) {
	a := testAdapter()
	r := Request{Method: "GET", Path: "/users", Header: http.Header{}}
	if err := a.AdaptRequest(context.Background(), mustCompile(t, `if .body == null then .path = "/v2/users" else error("body") end`), &r); err != nil {
		t.Fatal(err)
	}
	if r.Body != nil || r.Path != "/v2/users" {
		t.Fatalf("body %q path %s", r.Body, r.Path)
	}
}

// TestFailuresLeaveTheMessage: a runtime error, a wrong shape, too many
// values, a bad body or a result over max_body fail with a typed *Error and
// leave the message as it was.
func TestFailuresLeaveTheMessage(t *testing.T) {
	for _, tc := range []struct {
		name, prog, body string
		kind             Kind
		want             string
	}{
		{"runtime error", `.body.id |= (. + "x")`, `{"id": 1}`, KindProgram, "cannot add"},
		{"error()", `error("no v1 shape for this")`, `{}`, KindProgram, "no v1 shape"},
		{"not an object", `.status`, `{}`, KindProgram, "must yield an object"},
		{"no value", `empty`, `{}`, KindProgram, "no value"},
		{"two values", `., .`, `{}`, KindProgram, "more than one"},
		{"bad status", `.status = "ok"`, `{}`, KindProgram, "status must be a number"},
		{"bad header", `.headers["a b"] = "x"`, `{}`, KindProgram, "not a header name"},
		{"bad body", `.`, `{"id":`, KindBody, "not valid JSON"},
		{"output bound", `.body = ("x" * 70000)`, `{}`, KindProgram, "more than max_body"},
		{"time bound", `.body = last(range(1e12))`, `{}`, KindProgram, "ran longer than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := testAdapter()
			a.MaxBody = 64 << 10
			r := Response{Status: 200, Header: http.Header{"A": {"b"}}, Body: []byte(tc.body)}
			before := r
			err := a.AdaptResponse(context.Background(), mustCompile(t, tc.prog), &r)
			var ae *Error
			if !errors.As(err, &ae) || ae.Kind != tc.kind || ae.Stage != StageResponse || ae.Version != "v1" || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want an *Error of kind %d containing %q", err, tc.kind, tc.want)
			}
			if string(r.Body) != string(before.Body) || r.Status != 200 || r.Header.Get("A") != "b" {
				t.Fatalf("the failed program changed the answer: %+v", r)
			}
		})
	}
}

// TestCompileErrorOffset: a parse error says where in the program it is, a
// compile error names the unknown function's offset.
func TestCompileErrorOffset(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want int
	}{
		{`.body | {id,, name}`, 12},
		{`.body | nosuch(1)`, 8},
		{`.body | $nope`, 8},
	} {
		_, err := Compile(tc.src)
		var ce *CompileError
		if !errors.As(err, &ce) || ce.Offset != tc.want {
			t.Errorf("Compile(%q) = %v, want a CompileError at offset %d", tc.src, err, tc.want)
		}
	}
}

// TestEnvironmentHidden: a program cannot read Turnout's environment.
func TestEnvironmentHidden(t *testing.T) {
	t.Setenv("TURNOUT_SECRET", "s3cret")
	v, err := mustCompile(t, `{env: $ENV, e2: env}`).Run(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(v); strings.Contains(string(b), "s3cret") {
		t.Fatalf("the program read the environment: %s", b)
	}
}

// TestSelect: the first operation matching method and path template wins;
// others get the default programs.
func TestSelect(t *testing.T) {
	one, two, def := mustCompile(t, "1"), mustCompile(t, "2"), mustCompile(t, ".")
	a := testAdapter()
	a.Default = Pair{Request: def}
	a.Operations = []*Operation{NewOperation("GET", "/users/{id}", Pair{Request: one}), NewOperation("GET", "/users/{id}/v{n}.json", Pair{Request: two})}
	for _, tc := range []struct {
		method, path string
		want         *Program
	}{
		{"GET", "/users/7", one}, {"GET", "/users/7/v2.json", two}, {"POST", "/users/7", def},
		{"GET", "/users", def}, {"GET", "/users/7/x", def}, {"GET", "/users/", def},
	} {
		if got := a.Select(tc.method, tc.path).Request; got != tc.want {
			t.Errorf("%s %s selected %q, want %q", tc.method, tc.path, got.Source(), tc.want.Source())
		}
	}
}
