package contract

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"gopkg.in/yaml.v3"
)

// checkSyntax parses a file as YAML (or JSON) and checks that every $ref
// inside it resolves, so that the two most common mistakes are reported at
// their line and column rather than by kin-openapi's unpositioned messages.
func checkSyntax(name string, data []byte) (*yaml.Node, error) {
	if trimmed := bytes.TrimSpace(data); len(trimmed) > 0 && trimmed[0] == '{' {
		if err := checkJSON(name, data); err != nil {
			return nil, err
		}
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		le := &LoadError{File: name, Msg: "not valid YAML or JSON: " + err.Error(), Err: err}
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			le.Line, _ = strconv.Atoi(m[1])
			le.Msg = "not valid YAML or JSON: " + m[2]
		}
		return nil, le
	}
	if root.Kind == 0 {
		return nil, &LoadError{File: name, Msg: "empty file, not an OpenAPI document"}
	}
	return &root, checkRefs(name, &root, &root)
}

// checkRoot checks that a document's top level says it is OpenAPI 3.
func checkRoot(name string, root *yaml.Node) error {
	top := root
	if top.Kind == yaml.DocumentNode && len(top.Content) > 0 {
		top = top.Content[0]
	}
	if top.Kind != yaml.MappingNode {
		return &LoadError{File: name, Line: top.Line, Col: top.Column, Msg: "not an OpenAPI document: the top level must be a mapping"}
	}
	if v := child(top, "openapi"); v != nil {
		if v.Kind != yaml.ScalarNode || !strings.HasPrefix(v.Value, "3.") {
			return &LoadError{File: name, Line: v.Line, Col: v.Column, Msg: fmt.Sprintf("openapi %q is not supported; use OpenAPI 3.0 or 3.1", v.Value)}
		}
		return nil
	}
	if v := child(top, "swagger"); v != nil {
		return &LoadError{File: name, Line: v.Line, Col: v.Column, Msg: fmt.Sprintf("swagger %q (OpenAPI 2) is not supported; convert the document to OpenAPI 3", v.Value)}
	}
	return &LoadError{File: name, Line: top.Line, Col: top.Column, Msg: "not an OpenAPI 3 document: the `openapi` field is missing"}
}

var wrongKind = regexp.MustCompile(`cannot unmarshal (\w+) into field (?:\w+\.)*(\w+) of type ([\w.\[\]]+)`)

// locateWrongKind finds where kin-openapi met a value of the wrong kind (its
// message names the Go field, not the place): the first key of that name
// whose value is of the kind it complained about.
func locateWrongKind(trees map[string]*yaml.Node, err error) *LoadError {
	m := wrongKind.FindStringSubmatch(err.Error())
	if m == nil {
		return nil
	}
	got, key := m[1], strings.ToLower(m[2][:1])+m[2][1:]
	for name, root := range trees {
		if n := findKey(root, key, got); n != nil {
			return &LoadError{File: name, Line: n.Line, Col: n.Column, Err: err,
				Msg: fmt.Sprintf("invalid OpenAPI document: %s must be a %s, not a %s", key, m[3], got)}
		}
	}
	return nil
}

// findKey returns the first value under a key named key whose kind is got
// (as encoding/json names kinds: string, number, bool, array, object).
func findKey(n *yaml.Node, key, got string) *yaml.Node {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			if f := findKey(c, key, got); f != nil {
				return f
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if v := n.Content[i+1]; n.Content[i].Value == key && kindOf(v) == got {
				return v
			}
			if f := findKey(n.Content[i+1], key, got); f != nil {
				return f
			}
		}
	}
	return nil
}

func kindOf(n *yaml.Node) string {
	switch {
	case n.Kind == yaml.SequenceNode:
		return "array"
	case n.Kind == yaml.MappingNode:
		return "object"
	case n.Tag == "!!int" || n.Tag == "!!float":
		return "number"
	case n.Tag == "!!bool":
		return "bool"
	case n.Tag == "!!str":
		return "string"
	}
	return ""
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// checkJSON reports a JSON syntax error at its line and column.
func checkJSON(name string, data []byte) error {
	var v any
	err := json.Unmarshal(data, &v)
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		return nil
	}
	line, col := lineCol(data, int(se.Offset))
	return &LoadError{File: name, Line: line, Col: col, Msg: "not valid JSON: " + se.Error(), Err: err}
}

// lineCol converts a byte offset into a 1-based line and column.
func lineCol(data []byte, off int) (int, int) {
	off = min(max(off, 0), len(data))
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	return line, off - bytes.LastIndexByte(before, '\n')
}

// checkRefs walks n for $ref values: a "#/..." pointer must exist in this
// file; a reference to another file must name a local file that exists.
// (What lies inside another file is checked when that file is read.)
func checkRefs(name string, root, n *yaml.Node) error {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			if err := checkRefs(name, root, c); err != nil {
				return err
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "$ref" && v.Kind == yaml.ScalarNode {
				if msg := refProblem(name, root, v.Value); msg != "" {
					return &LoadError{File: name, Line: v.Line, Col: v.Column, Msg: msg}
				}
				continue
			}
			if err := checkRefs(name, root, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// refProblem says what is wrong with one $ref value ("" when nothing is).
func refProblem(name string, root *yaml.Node, ref string) string {
	u, err := url.Parse(ref)
	if err != nil {
		return fmt.Sprintf("$ref %q is not a valid reference: %v", ref, err)
	}
	if u.Scheme != "" || u.Host != "" {
		return fmt.Sprintf("$ref %q is remote; only references inside the document or to local files are followed", ref)
	}
	if u.Path != "" {
		target := filepath.FromSlash(u.Path)
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(name), target)
		}
		if _, err := readFile(target); err != nil {
			return fmt.Sprintf("$ref %q: %v", ref, err)
		}
		return ""
	}
	if missing := resolvePointer(root, u.Fragment); missing != "" {
		return fmt.Sprintf("$ref %q does not resolve: %s", ref, missing)
	}
	return ""
}

// resolvePointer follows a JSON Pointer (the part after '#') through the
// YAML tree and says where it stops ("" when it resolves).
func resolvePointer(root *yaml.Node, ptr string) string {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	if ptr == "" {
		return ""
	}
	if !strings.HasPrefix(ptr, "/") {
		return fmt.Sprintf("%q is not a JSON Pointer (it must start with /)", ptr)
	}
	at := "#"
	for _, seg := range strings.Split(ptr[1:], "/") {
		seg = strings.ReplaceAll(strings.ReplaceAll(seg, "~1", "/"), "~0", "~")
		for n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		next := child(n, seg)
		if next == nil {
			return fmt.Sprintf("%s has no %q", at, seg)
		}
		at += "/" + strings.ReplaceAll(strings.ReplaceAll(seg, "~", "~0"), "/", "~1")
		n = next
	}
	return ""
}

func child(n *yaml.Node, seg string) *yaml.Node {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == seg {
				return n.Content[i+1]
			}
		}
	case yaml.SequenceNode:
		if i, err := strconv.Atoi(seg); err == nil && i >= 0 && i < len(n.Content) {
			return n.Content[i]
		}
	}
	return nil
}

// originOf returns the most precise source location recorded in a
// kin-openapi validation error chain: the deepest error carrying an Origin.
func originOf(err error) *Location {
	var found *Location
	var walk func(error)
	walk = func(err error) {
		for err != nil {
			if loc := originField(err); loc != nil {
				found = loc
			}
			if m, ok := err.(interface{ Unwrap() []error }); ok {
				for _, e := range m.Unwrap() {
					walk(e)
				}
				return
			}
			err = errors.Unwrap(err)
		}
	}
	walk(err)
	return found
}

// originField reads an error's `Origin *openapi3.Origin` field, which most
// kin-openapi validation errors carry when origins were recorded.
func originField(err error) *Location {
	v := reflect.ValueOf(err)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return nil
	}
	f := v.Elem().FieldByName("Origin")
	if !f.IsValid() || f.Type() != reflect.TypeFor[*openapi3.Origin]() || f.IsNil() {
		return nil
	}
	o := f.Interface().(*openapi3.Origin)
	if o.Key == nil || o.Key.File == "" {
		return nil
	}
	return &Location{File: o.Key.File, Line: o.Key.Line, Column: o.Key.Column}
}
