package qn

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"math"
	"strconv"
)

// EncodeDoc appends the frame d describes to dst, in d.Version. Fields are
// resolved through r: by name, or by ns and id (fver defaults to the
// registered version, or 1 for an unregistered field, which needs raw).
func (r *Registry) EncodeDoc(dst []byte, d FrameDoc) ([]byte, error) {
	v, err := ParseVersion(d.Version)
	if err != nil {
		return dst, err
	}
	t, err := ParseType(d.Type)
	if err != nil {
		return dst, err
	}
	h := Header{Version: v, Type: t, Seq: d.Seq}
	for _, name := range d.Flags {
		i := indexOf(flagNames[:], name)
		if i < 0 {
			return dst, errAt(ErrFlags, -1, "unknown flag "+strconv.Quote(name))
		}
		h.Flags |= 1 << i
	}
	var b Builder
	b.Reset(dst, h)
	for i, fd := range d.Fields {
		fld, err := r.docField(fd)
		if err != nil {
			return dst, &Error{Err: ErrValue, Offset: -1, Detail: "field " + strconv.Itoa(i) + ": " + err.Error()}
		}
		b.Add(fld)
	}
	return b.Finish()
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

// docField resolves one FieldDoc to wire form.
func (r *Registry) docField(fd FieldDoc) (Field, error) {
	var def FieldDef
	known := false
	if fd.Name != "" {
		if def, known = r.Lookup(fd.Name); !known {
			return Field{}, errAt(ErrValue, -1, "no registered field "+strconv.Quote(fd.Name))
		}
		if fd.NS != nil && *fd.NS != def.NS || fd.ID != nil && *fd.ID != def.ID {
			return Field{}, errAt(ErrValue, -1, strconv.Quote(fd.Name)+" is (ns "+strconv.Itoa(int(def.NS))+", id "+strconv.Itoa(int(def.ID))+")")
		}
	} else {
		if fd.NS == nil || fd.ID == nil {
			return Field{}, errAt(ErrValue, -1, "a field needs a name, or ns and id")
		}
		def, known = r.LookupID(*fd.NS, *fd.ID)
	}
	fld := Field{NS: def.NS, ID: def.ID, Ver: def.Version}
	if !known {
		fld = Field{NS: *fd.NS, ID: *fd.ID, Ver: 1}
	}
	if fd.Ver != nil {
		fld.Ver = *fd.Ver
	}
	switch {
	case fd.Raw != nil && fd.Value != nil:
		return Field{}, errAt(ErrValue, -1, "both value and raw")
	case fd.Raw != nil:
		b, err := hex.DecodeString(*fd.Raw)
		if err != nil {
			return Field{}, errAt(ErrValue, -1, "raw: "+err.Error())
		}
		fld.Value = b
	case !known:
		return Field{}, errAt(ErrValue, -1, "unregistered field (ns "+strconv.Itoa(int(fld.NS))+", id "+strconv.Itoa(int(fld.ID))+") needs raw")
	case fd.Value == nil:
		return Field{}, errAt(ErrValue, -1, strconv.Quote(def.Name)+" has no value")
	default:
		b, err := valueBytes(def.Type, fd.Value)
		if err != nil {
			return Field{}, errAt(ErrValue, -1, strconv.Quote(def.Name)+": "+err.Error())
		}
		fld.Value = b
	}
	return fld, nil
}

// valueBytes is the wire form of a JSON value of type t.
func valueBytes(t FieldType, js json.RawMessage) ([]byte, error) {
	switch t {
	case String, Bytes:
		var s string
		if err := json.Unmarshal(js, &s); err != nil {
			return nil, err
		}
		if t == Bytes {
			return hex.DecodeString(s)
		}
		return []byte(s), nil
	case Bool:
		var v bool
		if err := json.Unmarshal(js, &v); err != nil {
			return nil, err
		}
		if v {
			return []byte{1}, nil
		}
		return []byte{0}, nil
	}
	text := string(bytes.TrimSpace(js))
	w := t.Width()
	out := make([]byte, w)
	if t == I64 {
		v, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return nil, err
		}
		return appendBE(out[:0], uint64(v), w), nil
	}
	v, err := strconv.ParseUint(text, 10, 64)
	if err != nil {
		return nil, err
	}
	if w < 8 && v > math.MaxUint64>>(64-8*w) {
		return nil, errAt(ErrValue, -1, text+" does not fit a "+t.String())
	}
	return appendBE(out[:0], v, w), nil
}
