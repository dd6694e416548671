package qn

import (
	"cmp"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
)

// FieldType is the type of a field's value. Integers are fixed-width and
// big-endian like every QN integer; a bool is one byte, 0x00 or 0x01; a
// string is UTF-8; bytes are opaque.
type FieldType uint8

// The field types of QN.md.
const (
	U8 FieldType = iota + 1
	U16
	U32
	U64
	I64
	Bool
	String
	Bytes
)

var fieldTypeNames = [...]string{U8: "u8", U16: "u16", U32: "u32", U64: "u64", I64: "i64", Bool: "bool", String: "string", Bytes: "bytes"}

func (t FieldType) String() string {
	if t >= U8 && t <= Bytes {
		return fieldTypeNames[t]
	}
	return "type(" + strconv.Itoa(int(t)) + ")"
}

// Width is the value length of a fixed-width type, or 0 for string and bytes.
func (t FieldType) Width() int {
	switch t {
	case U8, Bool:
		return 1
	case U16:
		return 2
	case U32:
		return 4
	case U64, I64:
		return 8
	}
	return 0
}

// ParseFieldType reads a type name of QN.md ("u8", ..., "bytes").
func ParseFieldType(s string) (FieldType, error) {
	for t := U8; t <= Bytes; t++ {
		if s == fieldTypeNames[t] {
			return t, nil
		}
	}
	return 0, errAt(ErrInvalidDef, -1, "unknown field type "+strconv.Quote(s))
}

// FieldDef defines a field: where it lives on the wire, what it is called and
// what its value means.
type FieldDef struct {
	NS      uint8  // namespace: 0 core, 1 security, 2 tracing, ...
	ID      uint16 // id within the namespace
	Name    string // unique across namespaces; lower snake_case
	Type    FieldType
	Version uint8 // the field version (fver) writers use; ≥ 1
	// Deprecated fields are still decoded; tools mark them.
	Deprecated bool
	// RequiredDowngrade: a v2 → v1 translation that would drop this field
	// refuses the whole frame instead (QN.md, Translation).
	RequiredDowngrade bool
}

// CoreFields returns QN.md's core set: namespace 0, field version 1.
func CoreFields() []FieldDef {
	return []FieldDef{
		{NS: 0, ID: 1, Name: "device_id", Type: String, Version: 1},
		{NS: 0, ID: 2, Name: "timestamp_ms", Type: U64, Version: 1},
		{NS: 0, ID: 3, Name: "kind", Type: String, Version: 1},
		{NS: 0, ID: 4, Name: "body", Type: Bytes, Version: 1},
		{NS: 0, ID: 5, Name: "status", Type: U16, Version: 1},
	}
}

// Registry is a set of field definitions, registered at run time by the
// modules that own them. It is safe for concurrent use: lookups read an
// immutable snapshot through an atomic pointer and never lock or allocate;
// registrations copy it under a mutex. The zero Registry is empty and ready.
type Registry struct {
	mu   sync.Mutex // serialises writers
	snap atomic.Pointer[regSnap]
}

type regSnap struct {
	byKey  map[uint32]FieldDef // fieldKey(ns, id)
	byName map[string]FieldDef
	sorted []FieldDef // by (ns, id)
}

func fieldKey(ns uint8, id uint16) uint32 { return uint32(ns)<<16 | uint32(id) }

// NewRegistry returns a registry holding defs, or an error if they conflict.
func NewRegistry(defs ...FieldDef) (*Registry, error) {
	r := &Registry{}
	return r, r.Register(defs...)
}

var (
	defaultOnce sync.Once
	defaultReg  *Registry
)

// Default returns the process-wide registry, created with CoreFields. Modules
// register their namespaces into it at start-up; the gateway and the CLI read it.
func Default() *Registry {
	defaultOnce.Do(func() {
		defaultReg = &Registry{}
		if err := defaultReg.Register(CoreFields()...); err != nil {
			panic(err) // CoreFields is a constant table; a conflict is a bug here
		}
	})
	return defaultReg
}

// Register adds defs, all or none: it refuses a definition that is invalid
// (ErrInvalidDef) or whose (namespace, id) or name is already registered or
// repeated within defs (ErrDuplicate).
func (r *Registry) Register(defs ...FieldDef) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.snap.Load()
	next := &regSnap{byKey: map[uint32]FieldDef{}, byName: map[string]FieldDef{}}
	if old != nil {
		next.sorted = slices.Clone(old.sorted)
		for _, d := range old.sorted {
			next.byKey[fieldKey(d.NS, d.ID)] = d
			next.byName[d.Name] = d
		}
	}
	for _, d := range defs {
		if err := d.validate(); err != nil {
			return err
		}
		where := "(ns " + strconv.Itoa(int(d.NS)) + ", id " + strconv.Itoa(int(d.ID)) + ")"
		if prev, ok := next.byKey[fieldKey(d.NS, d.ID)]; ok {
			return errAt(ErrDuplicate, -1, where+" is already "+strconv.Quote(prev.Name))
		}
		if prev, ok := next.byName[d.Name]; ok {
			return errAt(ErrDuplicate, -1, strconv.Quote(d.Name)+" is already (ns "+strconv.Itoa(int(prev.NS))+
				", id "+strconv.Itoa(int(prev.ID))+"), cannot also be "+where)
		}
		next.byKey[fieldKey(d.NS, d.ID)] = d
		next.byName[d.Name] = d
		next.sorted = append(next.sorted, d)
	}
	slices.SortFunc(next.sorted, func(a, b FieldDef) int {
		return cmp.Compare(fieldKey(a.NS, a.ID), fieldKey(b.NS, b.ID))
	})
	r.snap.Store(next)
	return nil
}

func (d FieldDef) validate() error {
	bad := func(why string) error { return errAt(ErrInvalidDef, -1, strconv.Quote(d.Name)+": "+why) }
	if !validName(d.Name) {
		return bad("a name is 1–64 characters of a–z, 0–9 and _, starting with a letter")
	}
	if d.Type < U8 || d.Type > Bytes {
		return bad("unknown type " + d.Type.String())
	}
	if d.Version == 0 {
		return bad("field version 0; versions start at 1")
	}
	return nil
}

func validName(s string) bool {
	if len(s) == 0 || len(s) > 64 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// Lookup returns the field called name.
func (r *Registry) Lookup(name string) (FieldDef, bool) {
	if s := r.load(); s != nil {
		d, ok := s.byName[name]
		return d, ok
	}
	return FieldDef{}, false
}

// LookupID returns the field at (ns, id).
func (r *Registry) LookupID(ns uint8, id uint16) (FieldDef, bool) {
	if s := r.load(); s != nil {
		d, ok := s.byKey[fieldKey(ns, id)]
		return d, ok
	}
	return FieldDef{}, false
}

// IsRegistered reports whether (ns, id) is a registered field.
func (r *Registry) IsRegistered(ns uint8, id uint16) bool {
	_, ok := r.LookupID(ns, id)
	return ok
}

// Fields returns every definition, ordered by namespace then id.
func (r *Registry) Fields() []FieldDef {
	if s := r.load(); s != nil {
		return slices.Clone(s.sorted)
	}
	return nil
}

// Known calls fn for each field of f whose (namespace, id) is registered —
// its field version may differ from d.Version — in wire order, and
// returns how many it skipped as unknown. Unknown fields are never an error
// (QN.md: readers skip and count them). Known allocates nothing.
func (r *Registry) Known(f *Frame, fn func(FieldDef, Field)) (unknown int) {
	s := r.load()
	for it := f.Fields(); it.Next(); {
		fld := it.Field()
		if s != nil {
			if d, ok := s.byKey[fieldKey(fld.NS, fld.ID)]; ok {
				fn(d, fld)
				continue
			}
		}
		unknown++
	}
	return unknown
}

// load tolerates a nil *Registry, which is empty.
func (r *Registry) load() *regSnap {
	if r == nil {
		return nil
	}
	return r.snap.Load()
}
