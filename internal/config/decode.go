package config

import (
	"fmt"
	"reflect"
)

// decoder turns a yaml.Node tree into the config struct tree strictly:
// unknown keys, duplicate keys and values of the wrong kind are errors, each
// anchored at its position. It keeps going after an error so that one run
// reports every problem.
type decoder struct {
	file string
	t    *tree
	// src is the document's text, read only to place values that keep
	// their position (placed).
	src  string
	errs collector
	// steps counts decode calls; budget bounds them so that aliases cannot
	// make a small document expand into an enormous one ("billion laughs").
	// A budget of 0 is no bound (a document without aliases).
	steps, budget int
	exceeded      bool
	// path names the value being decoded ("upstreams.users-v1.timeout",
	// "rules[2]"); it is spelled out only for a message.
	path []pathSeg
	// keys is where the Metas of this document take their keys from: one
	// allocation for many small Metas, which live as long as each other.
	keys []keyEntry
	// cells are the values decodeMap decodes entries into, by type.
	cells map[reflect.Type][]reflect.Value
	// defaults makes the nodes that take defaults on their own
	// (finishers) take them as they are decoded.
	defaults bool
	// fields holds the field indexes of the keys of the mappings being
	// decoded into structs, outermost first (see fieldsOf); entries the
	// entries of the mappings being decoded into maps (see mapEntries).
	fields, entries []int
}

// keyChunk is the number of Meta keys the decoder allocates at once.
const keyChunk = 4096

// reserve gives m room for n more keys.
func (d *decoder) reserve(m *Meta, n int) {
	if len(m.keys) > 0 || n > keyChunk/8 {
		m.grow(n)
		return
	}
	if cap(d.keys)-len(d.keys) < n {
		d.keys = make([]keyEntry, 0, keyChunk)
	}
	at := len(d.keys)
	m.keys = d.keys[at : at : at+n] // appending past n reallocates, never overwrites a neighbour
	d.keys = d.keys[:at+n]
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
func newDecoder(file string, t *tree, aliases bool) *decoder {
	d := &decoder{file: file, t: t}
	if aliases {
		d.budget = aliasBudgetBase + aliasBudgetPerNode*len(t.nodes) // every node written, once
	}
	return d
}

func (d *decoder) pos(n *node) Pos { return Pos{File: d.file, Line: int(n.line), Col: int(n.col)} }

// errorf records a problem at n with the message "PATH: ..." ("..." alone
// at the top level).
func (d *decoder) errorf(n *node, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if w := pathString(d.path); w != "" {
		msg = w + ": " + msg
	}
	d.errs.add(&Error{Pos: d.pos(n), Msg: msg})
}

func (d *decoder) kindName(n *node) string {
	switch n.kind {
	case mappingNode:
		return "a mapping"
	case sequenceNode:
		return "a list"
	case scalarNode:
		if n.tag == tagNull {
			return "nothing"
		}
		return fmt.Sprintf("%q", d.t.value(n))
	}
	return "an unsupported node"
}

// placed is implemented by scalar values that record where they were
// written (Program).
type placed interface {
	place(at Pos, src string)
}

func isNull(n *node) bool { return n.kind == scalarNode && n.tag == tagNull }

// decode stores n into v (which must be settable and of type ti).
func (d *decoder) decode(n *node, v reflect.Value, ti *typeInfo) {
	if d.steps++; d.budget > 0 && d.steps > d.budget {
		if !d.exceeded {
			d.exceeded = true
			d.errorf(n, "the document expands to too many values through aliases (more than %d)", d.budget)
		}
		return
	}
	n = d.t.resolve(n)
	if n.kind == documentNode {
		if n.n == 0 {
			return
		}
		n = &d.t.children(n)[0]
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
		if n.kind != scalarNode || isNull(n) {
			d.errorf(n, "expected a value, got %s", d.kindName(n))
			return
		}
		if _, num := v.Addr().Interface().(numeric); num && quoted(n) {
			d.errorf(n, "expected a number, got the string %q (write it without quotes)", d.t.value(n))
			return
		}
		if err := v.Addr().Interface().(scalar).parseScalar(d.t.value(n)); err != nil {
			d.errorf(n, "%v", err)
		} else if p, ok := v.Addr().Interface().(placed); ok {
			p.place(d.pos(n), d.src)
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

func (d *decoder) decodeStruct(n *node, v reflect.Value, st *structInfo) {
	if isNull(n) {
		placeBlocks(v, st, d.pos(n))
		return
	}
	if n.kind != mappingNode {
		d.errorf(n, "expected a mapping, got %s", d.kindName(n))
		return
	}
	c := d.t.children(n)
	base := len(d.fields)
	fields := d.fieldsOf(c, st)
	defer func() { d.fields = d.fields[:base] }()
	var meta *Meta
	if st.meta >= 0 {
		meta = v.Field(st.meta).Addr().Interface().(*Meta)
		meta.At = d.pos(n)
		d.reserve(meta, d.keysFor(c, st, fields))
	}
	for i := 0; i+1 < len(c); i += 2 {
		k, val := &c[i], &c[i+1]
		key := d.t.value(k)
		if k.kind != scalarNode {
			d.errorf(k, "keys must be plain strings, got %s", d.kindName(k))
			continue
		}
		if k.tag == tagMerge {
			d.errorf(k, mergeKeyRefused)
			continue
		}
		if prev := d.earlierKey(c, i); prev != nil {
			d.errorf(k, "duplicate key %q (first set at line %d)", key, prev.line)
			continue
		}
		idx := fields[i/2]
		if idx < 0 {
			d.errorf(k, "unknown key %q (known keys: %s)", key, st.known)
			continue
		}
		fi, f := &st.infos[idx], v.Field(idx)
		if meta != nil {
			meta.add(keyRef{key: fi.id}, d.pos(k), d.pos(val)) // keys are unique: duplicates were skipped
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

// fieldsOf appends to d.fields the field index of each key of a mapping's
// keys and values c (-1 for a key that names no field) and returns them.
// The caller truncates d.fields when it is done.
func (d *decoder) fieldsOf(c []node, st *structInfo) []int {
	base := len(d.fields)
	for i := 0; i+1 < len(c); i += 2 {
		idx, ok := st.fields[d.t.value(&c[i])]
		if !ok {
			idx = -1
		}
		d.fields = append(d.fields, idx)
	}
	return d.fields[base:len(d.fields):len(d.fields)]
}

// keysFor is how many keys the Meta of the struct written as mapping c
// (whose keys name fields) will hold: one per key, one per item of list
// and mapping values, and the name it was written under.
func (d *decoder) keysFor(c []node, st *structInfo, fields []int) int {
	total := 1 + len(c)/2
	for i := 0; i+1 < len(c); i += 2 {
		idx := fields[i/2]
		if idx < 0 {
			continue
		}
		switch val := d.t.resolve(&c[i+1]); {
		case st.infos[idx].items == itemsNone:
		case val.kind == sequenceNode:
			total += int(val.n)
		case val.kind == mappingNode:
			total += int(val.n) / 2
		default:
			total++
		}
	}
	return total
}

// earlierKey returns the key node before position i of a mapping's keys
// and values c with the same name, or nil. Struct mappings have a handful of
// keys.
func (d *decoder) earlierKey(c []node, i int) *node {
	for j := 0; j < i; j += 2 {
		if d.t.value(&c[j]) == d.t.value(&c[i]) && c[j].kind == scalarNode {
			return &c[j]
		}
	}
	return nil
}

// markItems records in meta where each item of a list ("KEY[i]") and each
// entry of a mapping ("KEY.NAME") was written, so that validation can point
// at the offending item rather than at the whole value.
func (d *decoder) markItems(meta *Meta, fi *fieldInfo, val *node) {
	val = d.t.resolve(val)
	c := d.t.children(val)
	switch {
	case fi.items == itemsList && val.kind == sequenceNode:
		for i := range c {
			p := d.pos(&c[i])
			meta.add(keyRef{key: fi.id, item: int32(i + 1)}, p, p)
		}
	case fi.items == itemsList && val.kind == scalarNode && !isNull(val):
		p := d.pos(val)
		meta.add(keyRef{key: fi.id, item: 1}, p, p)
	case fi.items == itemsMap && val.kind == mappingNode:
		for i := 0; i+1 < len(c); i += 2 {
			r := keyRef{key: fi.id, sub: d.t.value(&c[i])}
			if _, dup := meta.find(r); !dup { // a duplicate keeps the first position
				meta.add(r, d.pos(&c[i]), d.pos(&c[i+1]))
			}
		}
	}
}

func (d *decoder) decodeSlice(n *node, v reflect.Value, ti *typeInfo) {
	if isNull(n) {
		return
	}
	items := d.t.children(n)
	if n.kind == scalarNode && !isNumber(ti.elem.t.Kind()) {
		items = []node{*n} // a single value stands for a one-element list
	} else if n.kind == scalarNode {
		// A lone number is more likely a mistake (`steps: 10` for a
		// rollout of one step) than a list of one.
		d.errorf(n, "expected a list of numbers such as [%s], got the single number %s", d.t.value(n), d.t.value(n))
		return
	} else if n.kind != sequenceNode {
		d.errorf(n, "expected a list, got %s", d.kindName(n))
		return
	}
	s := reflect.MakeSlice(ti.t, len(items), len(items))
	for i := range items {
		d.path = append(d.path, pathSeg{index: i, isIndex: true})
		d.decode(&items[i], s.Index(i), ti.elem)
		d.path = d.path[:len(d.path)-1]
	}
	v.Set(s)
}

func (d *decoder) decodeScalar(n *node, v reflect.Value) {
	if n.kind != scalarNode {
		d.errorf(n, "expected a value, got %s", d.kindName(n))
		return
	}
	if isNull(n) {
		return
	}
	val := d.t.value(n)
	switch v.Kind() {
	case reflect.String:
		v.SetString(val)
	case reflect.Bool:
		// A !!bool is one of these six (yaml.v3 rejects any other value
		// given an explicit !!bool tag).
		b, ok := false, n.tag == tagBool
		switch {
		case !ok:
		case val == "true" || val == "True" || val == "TRUE":
			b = true
		case val == "false" || val == "False" || val == "FALSE":
		default:
			ok = false
		}
		if !ok {
			d.errorf(n, "expected true or false, got %q", val)
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64, reflect.Float64:
		d.decodeNumber(n, v, val)
	default:
		d.errorf(n, "unsupported value type %s", v.Type())
	}
}

// isNumber reports whether k is a numeric kind.
func isNumber(k reflect.Kind) bool {
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}
