package config

import (
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode"
)

// typeInfo is what decoding needs of a type, worked out once per type.
type typeInfo struct {
	t      reflect.Type
	kind   reflect.Kind
	scalar bool        // *T implements scalar: T parses itself
	elem   *typeInfo   // of pointers, slices and maps
	st     *structInfo // of structs that are not scalars
}

// structInfo is what decoding needs of a config struct type.
type structInfo struct {
	meta   int            // index of the embedded Meta, -1 when none
	name   int            // index of the Name string field, -1 when none
	fields map[string]int // yaml key -> field index
	infos  []fieldInfo    // by field index (only keyed fields and blocks)
	known  string         // the keys, sorted, for "unknown key" messages
	blocks []int          // fields that are structs with a Meta
}

type fieldInfo struct {
	key   string // the yaml key
	id    keyID  // of key
	ti    *typeInfo
	items uint8 // itemsList or itemsMap: the positions of its items are recorded
}

const (
	itemsNone uint8 = iota
	itemsList
	itemsMap
)

var (
	metaType   = reflect.TypeOf(Meta{})
	scalarType = reflect.TypeOf((*scalar)(nil)).Elem()

	typeMu    sync.Mutex // serialises building typeInfos
	typeInfos sync.Map   // reflect.Type -> *typeInfo, complete ones only
)

func typeInfoOf(t reflect.Type) *typeInfo {
	if v, ok := typeInfos.Load(t); ok {
		return v.(*typeInfo)
	}
	typeMu.Lock()
	defer typeMu.Unlock()
	building := map[reflect.Type]*typeInfo{}
	ti := buildTypeInfo(t, building)
	for t, b := range building {
		typeInfos.Store(t, b)
	}
	return ti
}

func buildTypeInfo(t reflect.Type, building map[reflect.Type]*typeInfo) *typeInfo {
	if v, ok := typeInfos.Load(t); ok {
		return v.(*typeInfo)
	}
	if ti := building[t]; ti != nil {
		return ti
	}
	ti := &typeInfo{t: t, kind: t.Kind(), scalar: reflect.PointerTo(t).Implements(scalarType)}
	building[t] = ti
	switch ti.kind {
	case reflect.Pointer, reflect.Slice, reflect.Map:
		ti.elem = buildTypeInfo(t.Elem(), building)
	case reflect.Struct:
		if !ti.scalar {
			ti.st = buildStructInfo(t, building)
		}
	}
	return ti
}

func buildStructInfo(t reflect.Type, building map[reflect.Type]*typeInfo) *structInfo {
	info := &structInfo{meta: -1, name: -1, fields: map[string]int{}, infos: make([]fieldInfo, t.NumField())}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Type == metaType {
			info.meta = i
			continue
		}
		if f.Name == "Name" && f.Type.Kind() == reflect.String {
			info.name = i
		}
		tag := f.Tag.Get("yaml")
		block := false
		if f.Type.Kind() == reflect.Struct {
			if mf, ok := f.Type.FieldByName("Meta"); ok && mf.Type == metaType {
				info.blocks = append(info.blocks, i)
				block = true
			}
		}
		if (tag == "" || tag == "-") && !block {
			continue
		}
		fi := fieldInfo{key: tag, id: internKey(tag), ti: buildTypeInfo(f.Type, building)}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch ft.Kind() {
		case reflect.Slice:
			fi.items = itemsList
		case reflect.Map:
			fi.items = itemsMap
		}
		info.infos[i] = fi
		if tag != "" && tag != "-" {
			info.fields[tag] = i
		}
	}
	info.known = knownKeys(info.fields)
	return info
}

// metaOf returns the Meta of a struct value or non-nil struct pointer of
// type ti, or nil.
func metaOf(v reflect.Value, ti *typeInfo) *Meta {
	if ti.kind == reflect.Pointer {
		if v.IsNil() {
			return nil
		}
		v, ti = v.Elem(), ti.elem
	}
	if ti.st == nil || ti.st.meta < 0 || !v.CanAddr() {
		return nil
	}
	return v.Field(ti.st.meta).Addr().Interface().(*Meta)
}

// placeUnwritten gives nested blocks that were not written (and so have no
// position) the position at, recursively, so that errors about their
// defaults or missing keys point somewhere.
func placeUnwritten(v reflect.Value, at Pos) {
	if st := typeInfoOf(v.Type()).st; st != nil {
		placeBlocks(v, st, at)
	}
}

func placeBlocks(v reflect.Value, st *structInfo, at Pos) {
	for _, i := range st.blocks {
		f, ti := v.Field(i), st.infos[i].ti
		if m := metaOf(f, ti); m != nil && m.At.Line == 0 {
			m.At = at
			placeBlocks(f, ti.st, at)
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

// pathSeg is one step of the path to a value: a key or a list index.
type pathSeg struct {
	key     string
	index   int
	isIndex bool
}

// pathString spells out a path: "upstreams.users-v1.timeout", "rules[2]".
func pathString(path []pathSeg) string {
	s := ""
	for _, p := range path {
		if p.isIndex {
			s += "[" + strconv.Itoa(p.index) + "]"
		} else {
			s = join(s, p.key)
		}
	}
	return s
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
