package config

import "reflect"

func (d *decoder) decodeMap(n *node, v reflect.Value, ti *typeInfo) {
	if isNull(n) {
		return
	}
	if n.kind != mappingNode {
		d.errorf(n, "expected a mapping, got %s", d.kindName(n))
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMapWithSize(ti.t, int(n.n)/2))
	}
	c := d.t.children(n)
	base := len(d.entries)
	entries := d.mapEntries(c)
	defer func() { d.entries = d.entries[:base] }()
	if ti.elem.kind == reflect.Pointer && d.budget == 0 && chunksFor(len(entries)) > 1 {
		d.decodeEntriesParallel(c, entries, v, ti)
		return
	}
	elem, key := d.cell(ti.elem.t), d.cell(ti.t.Key())
	defer d.release(ti.elem.t, elem)
	defer d.release(ti.t.Key(), key)
	for _, i := range entries {
		d.decodeEntry(&c[i], &c[i+1], elem, ti.elem)
		key.SetString(d.t.value(&c[i]))
		v.SetMapIndex(key, elem)
	}
}

// mapEntries appends to d.entries, and returns, the positions in a
// mapping's keys and values c of the entries to decode, reporting the names
// that are not plain strings and the duplicates (which are not decoded).
// The caller truncates d.entries when it is done.
func (d *decoder) mapEntries(c []node) []int {
	base := len(d.entries)
	// Duplicates are looked for among the earlier names: in a map of
	// them when there are many, one by one when there are a few.
	var seen map[string]*node
	if len(c) > 2*indexFrom {
		seen = make(map[string]*node, len(c)/2)
	}
	for i := 0; i+1 < len(c); i += 2 {
		k := &c[i]
		name := d.t.value(k)
		if k.kind != scalarNode {
			d.errorf(k, "names must be plain strings")
			continue
		}
		if k.tag == tagMerge {
			d.errorf(k, mergeKeyRefused)
			continue
		}
		var prev *node
		if seen != nil {
			prev = seen[name]
		} else {
			prev = d.earlierKey(c, i)
		}
		if prev != nil {
			d.errorf(k, "duplicate name %q (first defined at line %d)", name, prev.line)
			continue
		}
		if seen != nil {
			seen[name] = k
		}
		d.entries = append(d.entries, i)
	}
	return d.entries[base:len(d.entries):len(d.entries)]
}

// decodeEntry decodes the value val of the map entry named by k into elem
// (a value of type et). Named nodes (*Upstream, *Service, *Version) learn
// their name and where it was written.
func (d *decoder) decodeEntry(k, val *node, elem reflect.Value, et *typeInfo) {
	name := d.t.value(k)
	st := et.st
	if et.kind == reflect.Pointer {
		st = et.elem.st
	}
	elem.SetZero()
	d.path = append(d.path, pathSeg{key: name})
	d.decode(val, elem, et)
	d.path = d.path[:len(d.path)-1]
	if et.kind == reflect.Pointer && elem.IsNil() {
		elem.Set(reflect.New(et.elem.t))
	}
	if st == nil {
		return
	}
	s := reflect.Indirect(elem)
	if st.name >= 0 {
		s.Field(st.name).SetString(name)
	}
	if st.meta >= 0 {
		m := s.Field(st.meta).Addr().Interface().(*Meta)
		if m.At.Line == 0 {
			m.At = d.pos(val)
			placeBlocks(s, st, m.At)
		}
		m.set(keyRef{}, d.pos(k), d.pos(k))
	}
	if et.kind == reflect.Pointer {
		if f, ok := elem.Interface().(finisher); ok {
			f.decoded(d.defaults)
		}
	}
}

// finisher is a node that completes itself once decoded as a map entry
// (*Service sorts its version names and, with defaults, takes them).
type finisher interface{ decoded(defaults bool) }

// cell returns a settable zero value of type t to decode into, reused
// across mappings (release gives it back).
func (d *decoder) cell(t reflect.Type) reflect.Value {
	if free := d.cells[t]; len(free) > 0 {
		v := free[len(free)-1]
		d.cells[t] = free[:len(free)-1]
		v.SetZero()
		return v
	}
	return reflect.New(t).Elem()
}

// release gives back a value cell returned; the decoder may hand it out
// again.
func (d *decoder) release(t reflect.Type, v reflect.Value) {
	if d.cells == nil {
		d.cells = map[reflect.Type][]reflect.Value{}
	}
	d.cells[t] = append(d.cells[t], v)
}
