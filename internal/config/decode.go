package config

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode"

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

var (
	metaType   = reflect.TypeOf(Meta{})
	scalarType = reflect.TypeOf((*scalar)(nil)).Elem()
)

func (d *decoder) pos(n *yaml.Node) Pos { return Pos{File: d.file, Line: n.Line, Col: n.Column} }

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	msg = strings.TrimPrefix(msg, ": ") // a problem at the top level has no path
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

// decode stores n into v (which must be settable). what names the value in
// messages, e.g. "upstreams.users-v1.timeout".
func (d *decoder) decode(n *yaml.Node, v reflect.Value, what string) {
	if d.steps++; d.budget > 0 && d.steps > d.budget {
		if !d.exceeded {
			d.exceeded = true
			d.errorf(n, "%s: the document expands to too many values through aliases (more than %d)", what, d.budget)
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
	if v.Kind() == reflect.Pointer {
		if isNull(n) {
			return
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem(), what)
		return
	}
	if v.CanAddr() && v.Addr().Type().Implements(scalarType) {
		if n.Kind != yaml.ScalarNode || isNull(n) {
			d.errorf(n, "%s: expected a value, got %s", what, kindName(n))
			return
		}
		if err := v.Addr().Interface().(scalar).parseScalar(n.Value); err != nil {
			d.errorf(n, "%s: %v", what, err)
		}
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.decodeStruct(n, v, what)
	case reflect.Map:
		d.decodeMap(n, v, what)
	case reflect.Slice:
		d.decodeSlice(n, v, what)
	default:
		d.decodeScalar(n, v, what)
	}
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, what string) {
	if isNull(n) {
		placeUnwritten(v, d.pos(n))
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s: expected a mapping, got %s", what, kindName(n))
		return
	}
	info := structInfoOf(v.Type())
	var meta *Meta
	if info.meta >= 0 {
		meta = v.Field(info.meta).Addr().Interface().(*Meta)
		meta.At = d.pos(n)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		key := k.Value
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, "%s: keys must be plain strings, got %s", what, kindName(k))
			continue
		}
		if prev := earlierKey(n, i); prev != nil {
			d.errorf(k, "%s: duplicate key %q (first set at line %d)", what, key, prev.Line)
			continue
		}
		idx, ok := info.fields[key]
		if !ok {
			d.errorf(k, "%s: unknown key %q (known keys: %s)", what, key, info.known)
			continue
		}
		if meta != nil {
			meta.setKey(key, d.pos(k), d.pos(val))
			d.markItems(meta, key, val, v.Field(idx).Type())
		}
		d.decode(val, v.Field(idx), join(what, key))
		if m := metaOf(v.Field(idx)); m != nil {
			m.setKey("", d.pos(k), d.pos(k)) // where the block was named
		}
	}
	placeUnwritten(v, d.pos(n))
}

// metaOf returns the Meta of a struct value or non-nil struct pointer, or nil.
func metaOf(v reflect.Value) *Meta {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct || !v.CanAddr() {
		return nil
	}
	if i := structInfoOf(v.Type()).meta; i >= 0 {
		return v.Field(i).Addr().Interface().(*Meta)
	}
	return nil
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

// structInfo is what decoding needs of a config struct type, worked out
// once per type.
type structInfo struct {
	meta   int            // index of the embedded Meta, -1 when none
	fields map[string]int // yaml key -> field index
	known  string         // the keys, sorted, for "unknown key" messages
	blocks []int          // fields that are structs with a Meta
}

var structInfos sync.Map // reflect.Type -> *structInfo

func structInfoOf(t reflect.Type) *structInfo {
	if v, ok := structInfos.Load(t); ok {
		return v.(*structInfo)
	}
	info := &structInfo{meta: -1, fields: map[string]int{}}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Type == metaType {
			info.meta = i
			continue
		}
		if f.Type.Kind() == reflect.Struct {
			if mf, ok := f.Type.FieldByName("Meta"); ok && mf.Type == metaType {
				info.blocks = append(info.blocks, i)
			}
		}
		tag := f.Tag.Get("yaml")
		if tag == "" || tag == "-" {
			continue
		}
		info.fields[tag] = i
	}
	info.known = knownKeys(info.fields)
	v, _ := structInfos.LoadOrStore(t, info)
	return v.(*structInfo)
}

// markItems records in meta where each item of a list ("KEY[i]") and each
// entry of a mapping ("KEY.NAME") was written, so that validation can point
// at the offending item rather than at the whole value.
func (d *decoder) markItems(meta *Meta, key string, val *yaml.Node, t reflect.Type) {
	val = resolve(val)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t.Kind() == reflect.Slice && val.Kind == yaml.SequenceNode:
		for i, item := range val.Content {
			p := d.pos(item)
			meta.setKey(fmt.Sprintf("%s[%d]", key, i), p, p)
		}
	case t.Kind() == reflect.Slice && val.Kind == yaml.ScalarNode && !isNull(val):
		p := d.pos(val)
		meta.setKey(key+"[0]", p, p)
	case t.Kind() == reflect.Map && val.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(val.Content); i += 2 {
			name := key + "." + val.Content[i].Value
			if !meta.Has(name) { // a duplicate keeps the first position
				meta.setKey(name, d.pos(val.Content[i]), d.pos(val.Content[i+1]))
			}
		}
	}
}

// placeUnwritten gives nested blocks that were not written (and so have no
// position) the position at, recursively, so that errors about their
// defaults or missing keys point somewhere.
func placeUnwritten(v reflect.Value, at Pos) {
	for _, i := range structInfoOf(v.Type()).blocks {
		f := v.Field(i)
		if m := metaOf(f); m != nil && m.At.Line == 0 {
			m.At = at
			placeUnwritten(f, at)
		}
	}
}

func knownKeys(fields map[string]int) string {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}

func join(what, key string) string {
	key = label(key)
	if what == "" {
		return key
	}
	return what + "." + key
}

// label returns a name as it appears in a message path: as written when it
// is plain, quoted when it is empty or holds spaces, dots, quotes, brackets or
// control characters (so every message stays on one line and unambiguous).
func label(name string) string {
	if name == "" {
		return `""`
	}
	for _, r := range name {
		if r <= ' ' || r == 0x7f || r == '"' || r == '.' || r == '[' || r == ']' || r == ':' || !unicode.IsPrint(r) {
			return strconv.Quote(name)
		}
	}
	return name
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, what string) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s: expected a mapping, got %s", what, kindName(n))
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(v.Type()))
	}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, "%s: names must be plain strings", what)
			continue
		}
		if prev, dup := seen[k.Value]; dup {
			d.errorf(k, "%s: duplicate name %q (first defined at line %d)", what, k.Value, prev.Line)
			continue
		}
		seen[k.Value] = k
		elem := reflect.New(v.Type().Elem()).Elem()
		d.decode(val, elem, join(what, k.Value))
		// Named nodes (*Upstream, *Service, *Version) learn their name and
		// where it was written.
		if elem.Kind() == reflect.Pointer && elem.IsNil() {
			elem.Set(reflect.New(elem.Type().Elem()))
		}
		if s := reflect.Indirect(elem); s.Kind() == reflect.Struct {
			if f := s.FieldByName("Name"); f.IsValid() && f.Kind() == reflect.String && f.CanSet() {
				f.SetString(k.Value)
			}
			if f := s.FieldByName("Meta"); f.IsValid() && f.Type() == metaType {
				m := f.Addr().Interface().(*Meta)
				if m.At.Line == 0 {
					m.At = d.pos(val)
					placeUnwritten(s, m.At)
				}
				m.setKey("", d.pos(k), d.pos(k))
			}
		}
		v.SetMapIndex(reflect.ValueOf(k.Value), elem)
	}
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, what string) {
	if isNull(n) {
		return
	}
	items := n.Content
	if n.Kind == yaml.ScalarNode {
		items = []*yaml.Node{n} // a single value stands for a one-element list
	} else if n.Kind != yaml.SequenceNode {
		d.errorf(n, "%s: expected a list, got %s", what, kindName(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(items), len(items))
	for i, item := range items {
		d.decode(item, s.Index(i), fmt.Sprintf("%s[%d]", what, i))
	}
	v.Set(s)
}

func (d *decoder) decodeScalar(n *yaml.Node, v reflect.Value, what string) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, "%s: expected a value, got %s", what, kindName(n))
		return
	}
	if isNull(n) {
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(n.Value)
	case reflect.Bool:
		var b bool
		if n.Tag != "!!bool" || n.Decode(&b) != nil {
			d.errorf(n, "%s: expected true or false, got %q", what, n.Value)
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		i, err := strconv.ParseInt(n.Value, 10, 64)
		if err != nil {
			d.errorf(n, "%s: expected a whole number, got %q", what, n.Value)
			return
		}
		v.SetInt(i)
	case reflect.Float64:
		f, err := strconv.ParseFloat(strings.TrimSuffix(n.Value, "%"), 64)
		if err != nil {
			d.errorf(n, "%s: expected a number, got %q", what, n.Value)
			return
		}
		v.SetFloat(f)
	default:
		d.errorf(n, "%s: unsupported value type %s", what, v.Type())
	}
}
