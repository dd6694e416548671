package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// decoder turns a yaml.Node tree into the config struct tree strictly:
// unknown keys, duplicate keys and values of the wrong kind are errors, each
// anchored at its position. It keeps going after an error so that one run
// reports every problem.
type decoder struct {
	file string
	errs collector
	// steps counts decode calls; budget bounds them so that aliases cannot
	// make a small document expand into an enormous one ("billion laughs").
	// A budget of 0 is no bound (a document without aliases).
	steps, budget int
	exceeded      bool
	// path names the value being decoded ("upstreams.users-v1.timeout",
	// "rules[2]"); it is spelled out only for a message.
	path []pathSeg
}

// aliasBudget is how many values a document may decode to per node it
// contains (plus a fixed allowance): generous for configurations that reuse
// blocks through anchors, far below anything exponential.
const (
	aliasBudgetPerNode = 20
	aliasBudgetBase    = 10000
)

// newDecoder returns a decoder for the document root, with an alias budget
// sized to it when it may hold aliases.
func newDecoder(file string, root *yaml.Node, aliases bool) *decoder {
	d := &decoder{file: file}
	if aliases {
		d.budget = aliasBudgetBase + aliasBudgetPerNode*countNodes(root)
	}
	return d
}

// countNodes counts the nodes written in the document, without following
// aliases.
func countNodes(n *yaml.Node) int {
	if n == nil {
		return 0
	}
	total := 1
	for _, c := range n.Content {
		total += countNodes(c)
	}
	return total
}

func (d *decoder) pos(n *yaml.Node) Pos { return Pos{File: d.file, Line: n.Line, Col: n.Column} }

// errorf records a problem at n with the message "PATH: ..." ("..." alone
// at the top level).
func (d *decoder) errorf(n *yaml.Node, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if w := pathString(d.path); w != "" {
		msg = w + ": " + msg
	}
	d.errs.add(&Error{Pos: d.pos(n), Msg: msg})
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "an unsupported node"
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// resolve follows aliases to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 1000; i++ {
		n = n.Alias
	}
	return n
}

// decode stores n into v (which must be settable and of type ti).
func (d *decoder) decode(n *yaml.Node, v reflect.Value, ti *typeInfo) {
	if d.steps++; d.budget > 0 && d.steps > d.budget {
		if !d.exceeded {
			d.exceeded = true
			d.errorf(n, "the document expands to too many values through aliases (more than %d)", d.budget)
		}
		return
	}
	n = resolve(n)
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return
		}
		n = n.Content[0]
	}
	if ti.kind == reflect.Pointer {
		if isNull(n) {
			return
		}
		if v.IsNil() {
			v.Set(reflect.New(ti.elem.t))
		}
		d.decode(n, v.Elem(), ti.elem)
		return
	}
	if ti.scalar && v.CanAddr() {
		if n.Kind != yaml.ScalarNode || isNull(n) {
			d.errorf(n, "expected a value, got %s", kindName(n))
			return
		}
		if err := v.Addr().Interface().(scalar).parseScalar(n.Value); err != nil {
			d.errorf(n, "%v", err)
		}
		return
	}
	switch ti.kind {
	case reflect.Struct:
		d.decodeStruct(n, v, ti.st)
	case reflect.Map:
		d.decodeMap(n, v, ti)
	case reflect.Slice:
		d.decodeSlice(n, v, ti)
	default:
		d.decodeScalar(n, v)
	}
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, st *structInfo) {
	if isNull(n) {
		placeBlocks(v, st, d.pos(n))
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "expected a mapping, got %s", kindName(n))
		return
	}
	var meta *Meta
	if st.meta >= 0 {
		meta = v.Field(st.meta).Addr().Interface().(*Meta)
		meta.At = d.pos(n)
		meta.grow(keysFor(n, st))
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		key := k.Value
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, "keys must be plain strings, got %s", kindName(k))
			continue
		}
		if prev := earlierKey(n, i); prev != nil {
			d.errorf(k, "duplicate key %q (first set at line %d)", key, prev.Line)
			continue
		}
		idx, ok := st.fields[key]
		if !ok {
			d.errorf(k, "unknown key %q (known keys: %s)", key, st.known)
			continue
		}
		fi, f := &st.infos[idx], v.Field(idx)
		if meta != nil {
			meta.set(keyRef{key: fi.key}, d.pos(k), d.pos(val))
			d.markItems(meta, fi, val)
		}
		d.path = append(d.path, pathSeg{key: key})
		d.decode(val, f, fi.ti)
		d.path = d.path[:len(d.path)-1]
		if m := metaOf(f, fi.ti); m != nil {
			m.set(keyRef{}, d.pos(k), d.pos(k)) // where the block was named
		}
	}
	placeBlocks(v, st, d.pos(n))
}

// keysFor is how many keys the Meta of the struct written as mapping n
// will hold: one per key, one per item of list and mapping values, and the
// name it was written under.
func keysFor(n *yaml.Node, st *structInfo) int {
	total := 1 + len(n.Content)/2
	for i := 0; i+1 < len(n.Content); i += 2 {
		idx, ok := st.fields[n.Content[i].Value]
		if !ok {
			continue
		}
		switch val := resolve(n.Content[i+1]); {
		case st.infos[idx].items == itemsNone:
		case val.Kind == yaml.SequenceNode:
			total += len(val.Content)
		case val.Kind == yaml.MappingNode:
			total += len(val.Content) / 2
		default:
			total++
		}
	}
	return total
}

// earlierKey returns the key node before position i of mapping n with the
// same name, or nil. Struct mappings have a handful of keys.
func earlierKey(n *yaml.Node, i int) *yaml.Node {
	for j := 0; j < i; j += 2 {
		if n.Content[j].Value == n.Content[i].Value && n.Content[j].Kind == yaml.ScalarNode {
			return n.Content[j]
		}
	}
	return nil
}

// markItems records in meta where each item of a list ("KEY[i]") and each
// entry of a mapping ("KEY.NAME") was written, so that validation can point
// at the offending item rather than at the whole value.
func (d *decoder) markItems(meta *Meta, fi *fieldInfo, val *yaml.Node) {
	val = resolve(val)
	switch {
	case fi.items == itemsList && val.Kind == yaml.SequenceNode:
		for i, item := range val.Content {
			p := d.pos(item)
			meta.set(keyRef{key: fi.key, item: int32(i + 1)}, p, p)
		}
	case fi.items == itemsList && val.Kind == yaml.ScalarNode && !isNull(val):
		p := d.pos(val)
		meta.set(keyRef{key: fi.key, item: 1}, p, p)
	case fi.items == itemsMap && val.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(val.Content); i += 2 {
			r := keyRef{key: fi.key, sub: val.Content[i].Value}
			if _, dup := meta.find(r); !dup { // a duplicate keeps the first position
				meta.add(r, d.pos(val.Content[i]), d.pos(val.Content[i+1]))
			}
		}
	}
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, ti *typeInfo) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "expected a mapping, got %s", kindName(n))
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMapWithSize(ti.t, len(n.Content)/2))
	}
	et := ti.elem
	// Named nodes (*Upstream, *Service, *Version) learn their name and
	// where it was written.
	st := et.st
	if et.kind == reflect.Pointer {
		st = et.elem.st
	}
	seen := make(map[string]*yaml.Node, len(n.Content)/2)
	elem := reflect.New(et.t).Elem()
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, "names must be plain strings")
			continue
		}
		if prev, dup := seen[k.Value]; dup {
			d.errorf(k, "duplicate name %q (first defined at line %d)", k.Value, prev.Line)
			continue
		}
		seen[k.Value] = k
		elem.SetZero()
		d.path = append(d.path, pathSeg{key: k.Value})
		d.decode(val, elem, et)
		d.path = d.path[:len(d.path)-1]
		if et.kind == reflect.Pointer && elem.IsNil() {
			elem.Set(reflect.New(et.elem.t))
		}
		if st != nil {
			s := reflect.Indirect(elem)
			if st.name >= 0 {
				s.Field(st.name).SetString(k.Value)
			}
			if st.meta >= 0 {
				m := s.Field(st.meta).Addr().Interface().(*Meta)
				if m.At.Line == 0 {
					m.At = d.pos(val)
					placeBlocks(s, st, m.At)
				}
				m.set(keyRef{}, d.pos(k), d.pos(k))
			}
		}
		v.SetMapIndex(reflect.ValueOf(&k.Value).Elem(), elem)
	}
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, ti *typeInfo) {
	if isNull(n) {
		return
	}
	items := n.Content
	if n.Kind == yaml.ScalarNode {
		items = []*yaml.Node{n} // a single value stands for a one-element list
	} else if n.Kind != yaml.SequenceNode {
		d.errorf(n, "expected a list, got %s", kindName(n))
		return
	}
	s := reflect.MakeSlice(ti.t, len(items), len(items))
	for i, item := range items {
		d.path = append(d.path, pathSeg{index: i, isIndex: true})
		d.decode(item, s.Index(i), ti.elem)
		d.path = d.path[:len(d.path)-1]
	}
	v.Set(s)
}

func (d *decoder) decodeScalar(n *yaml.Node, v reflect.Value) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, "expected a value, got %s", kindName(n))
		return
	}
	if isNull(n) {
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(n.Value)
	case reflect.Bool:
		b, ok := false, n.Tag == "!!bool"
		switch {
		case !ok:
		case n.Value == "true" || n.Value == "True" || n.Value == "TRUE":
			b = true
		case n.Value == "false" || n.Value == "False" || n.Value == "FALSE":
		default: // an explicit !!bool tag
			var x bool
			ok, b = n.Decode(&x) == nil, x
		}
		if !ok {
			d.errorf(n, "expected true or false, got %q", n.Value)
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		i, err := strconv.ParseInt(n.Value, 10, 64)
		if err != nil {
			d.errorf(n, "expected a whole number, got %q", n.Value)
			return
		}
		v.SetInt(i)
	case reflect.Float64:
		f, err := strconv.ParseFloat(strings.TrimSuffix(n.Value, "%"), 64)
		if err != nil {
			d.errorf(n, "expected a number, got %q", n.Value)
			return
		}
		v.SetFloat(f)
	default:
		d.errorf(n, "unsupported value type %s", v.Type())
	}
}
