package route

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/turnout-gw/turnout/internal/config"
)

const compiledYAML = `
upstreams:
  u1: { targets: [http://127.0.0.1:9001] }
  u2: { targets: [http://127.0.0.1:9002] }
  dev: { targets: [tcp://127.0.0.1:7101] }
services:
  users:
    match: { path_prefix: /users }
    negotiate: { sources: [query, header], header: X-Version, query: ver, accept_vendor: application/vnd.example }
    default: v1
    fallback: true
    versions:
      v1: { upstream: u1 }
      v2: { upstream: u2 }
    rules:
      - name: beta
        match: { expr: 'Header("X-Beta") == "1"' }
        version: v2
    mirror: { to: v2, percent: 5 }
  meters:
    protocol: qn
    listen: 127.0.0.1:7000
    default: v1
    versions:
      v1: { upstream: dev, speaks: v1 }
      v2: { upstream: dev, speaks: v2, translate: true }
    qn: { grace: 100ms }
`

// TestServiceCompiledFields: what the appliers read of a service is
// compiled from its configuration once, and a reload that only moves the
// service in its file keeps the compiled fields while Pos and MatchPos
// follow the new positions.
func TestServiceCompiledFields(t *testing.T) {
	prev := mustTable(t, compiledYAML)
	tb := mustTable(t, "\n\n"+compiledYAML, WithPrevious(prev))
	users, meters := tb.Service("users"), tb.Service("meters")

	if users.IsQN() || users.Protocol != config.ServiceHTTP || users.Listen != "" || users.QN != nil {
		t.Errorf("users: IsQN %v, protocol %q, listen %q, qn %v; want an HTTP service", users.IsQN(), users.Protocol, users.Listen, users.QN)
	}
	want := Negotiation{Sources: []string{"query", "header"}, Header: "X-Version", Query: "ver", AcceptVendor: "application/vnd.example"}
	if n := users.Negotiation; !slices.Equal(n.Sources, want.Sources) || n.Header != want.Header || n.Query != want.Query || n.AcceptVendor != want.AcceptVendor {
		t.Errorf("users: negotiation %+v, want %+v", n, want)
	}
	if m := users.Mirror; m == nil || m.To != users.Version("v2") || m.Percent != 5 {
		t.Errorf("users: mirror %+v, want 5%% to v2", m)
	}
	if meters.Mirror != nil {
		t.Errorf("meters: mirror %+v, want none", meters.Mirror)
	}
	if !meters.IsQN() || meters.Protocol != config.ServiceQN || meters.Listen != "127.0.0.1:7000" || meters.QN == nil || meters.QN.Grace.D().String() != "100ms" {
		t.Errorf("meters: IsQN %v, protocol %q, listen %q, qn %+v", meters.IsQN(), meters.Protocol, meters.Listen, meters.QN)
	}
	if v1, v2 := meters.Version("v1"), meters.Version("v2"); v1.Speaks != "v1" || v1.Translate || v2.Speaks != "v2" || !v2.Translate {
		t.Errorf("meters: v1 speaks %q translate %v, v2 speaks %q translate %v", v1.Speaks, v1.Translate, v2.Speaks, v2.Translate)
	}

	if users.Version("v1") != prev.Service("users").Version("v1") {
		t.Fatal("users was compiled again; the test wants it reused")
	}
	if got, was := users.Pos("fallback").Line, prev.Service("users").Pos("fallback").Line; got != was+2 || was == 0 {
		t.Errorf("Pos(fallback) on line %d, want %d (the previous %d moved by two)", got, was+2, was)
	}
	if got, was := users.Rules[0].MatchPos("expr").Line, prev.Service("users").Rules[0].MatchPos("expr").Line; got != was+2 || was == 0 {
		t.Errorf("MatchPos(expr) on line %d, want %d (the previous %d moved by two)", got, was+2, was)
	}
	if p := (&Service{}).Pos("fallback"); p != (config.Pos{}) {
		t.Errorf("Pos of a service compiled from nothing: %v, want the zero position", p)
	}
}

// specReaders may still read Service.Spec outside this package: none now
// (the QN pick reads Version.Speaks and Translate).
var specReaders = map[string]bool{}

// TestSpecReadOnlyInRoute: outside this package no non-test source file that
// imports it selects a field or method named Spec (other than a package's
// exported Spec type): the appliers read compiled fields, not the raw
// configuration. The scan is by syntax, without types, so a file that
// imports route and reads another type's Spec is flagged too.
func TestSpecReadOnlyInRoute(t *testing.T) {
	const routePath = "github.com/turnout-gw/turnout/internal/route"
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	var found []string
	scanned := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "vendor" || rel == "internal/route") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") || specReaders[rel] {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		pkgs, importsRoute := map[string]bool{}, false
		for _, im := range f.Imports {
			ip, _ := strconv.Unquote(im.Path.Value)
			importsRoute = importsRoute || ip == routePath
			name := path.Base(ip)
			if im.Name != nil {
				name = im.Name.Name
			}
			pkgs[name] = true
		}
		if !importsRoute {
			return nil
		}
		scanned++
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "Spec" {
				return true
			}
			if id, ok := sel.X.(*ast.Ident); ok && pkgs[id.Name] {
				return true // a package's type, such as fault.Spec
			}
			found = append(found, fset.Position(sel.Sel.Pos()).String())
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if scanned < 10 {
		t.Fatalf("only %d files outside internal/route import it; is the module root %s?", scanned, root)
	}
	for _, at := range found {
		t.Errorf("%s: reads Spec outside internal/route; read a compiled field of route.Service, Version or Rule instead", at)
	}
}
