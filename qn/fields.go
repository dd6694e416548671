package qn

import "encoding/binary"

// Field is one field of a payload. Value is a view of the frame's bytes, not
// a copy. A v1 field is reported as its v2 equivalent: namespace 0, field
// version 1.
type Field struct {
	NS    uint8  // namespace; 0 is the core set
	ID    uint16 // ≤ 255 in v1
	Ver   uint8  // field version ("fver"); 1 for every v1 field
	Value []byte
}

// FieldIter walks the fields of a frame without allocating:
//
//	for it := f.Fields(); it.Next(); {
//		fld := it.Field()
//		...
//	}
//
// On a frame returned by Parse it cannot fail. On a Frame built by hand from
// unchecked bytes it stops at the first malformed field and Err says why.
type FieldIter struct {
	v   Version
	p   []byte
	off int
	cur Field
	err error
}

// Fields returns an iterator over the frame's fields, in wire order.
func (f *Frame) Fields() FieldIter {
	it := FieldIter{v: f.Version, p: f.Payload}
	if f.Version != V1 && f.Version != V2 {
		it.err, it.p = ErrNotQN, nil
	}
	return it
}

// Next advances to the next field and reports whether there is one.
func (it *FieldIter) Next() bool {
	if it.off >= len(it.p) {
		return false
	}
	value, end, err := fieldEnd(it.v, it.p, it.off)
	if err != nil {
		it.err = ErrMalformed
		it.p = nil
		return false
	}
	b := it.p[it.off:end]
	if it.v == V1 {
		it.cur = Field{ID: uint16(b[0]), Ver: 1, Value: it.p[value:end]}
	} else {
		it.cur = Field{NS: b[0], ID: binary.BigEndian.Uint16(b[1:3]), Ver: b[3], Value: it.p[value:end]}
	}
	it.off = end
	return true
}

// Field returns the field Next moved to.
func (it *FieldIter) Field() Field { return it.cur }

// Err returns ErrMalformed if iteration stopped at a malformed field.
func (it *FieldIter) Err() error { return it.err }

// Get returns the first field with the given namespace and id, whatever its
// field version.
func (f *Frame) Get(ns uint8, id uint16) (Field, bool) {
	for it := f.Fields(); it.Next(); {
		if fld := it.Field(); fld.NS == ns && fld.ID == id {
			return fld, true
		}
	}
	return Field{}, false
}

// Uint reads a big-endian unsigned value of 1, 2, 4 or 8 bytes (u8, u16, u32,
// u64). ok is false for any other length.
func (f Field) Uint() (v uint64, ok bool) {
	switch len(f.Value) {
	case 1:
		return uint64(f.Value[0]), true
	case 2:
		return uint64(binary.BigEndian.Uint16(f.Value)), true
	case 4:
		return uint64(binary.BigEndian.Uint32(f.Value)), true
	case 8:
		return binary.BigEndian.Uint64(f.Value), true
	}
	return 0, false
}

// Int reads an i64: 8 bytes, big-endian two's complement.
func (f Field) Int() (v int64, ok bool) {
	if len(f.Value) != 8 {
		return 0, false
	}
	return int64(binary.BigEndian.Uint64(f.Value)), true
}

// Bool reads a bool: one byte, 0x00 or 0x01.
func (f Field) Bool() (v bool, ok bool) {
	if len(f.Value) != 1 || f.Value[0] > 1 {
		return false, false
	}
	return f.Value[0] == 1, true
}
