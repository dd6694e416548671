package qn

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strconv"
	"unicode"
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
			e := *err
			e.Detail = "field " + strconv.Itoa(i) + ": " + e.Detail
			return dst, &e
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
func (r *Registry) docField(fd FieldDoc) (Field, *Error) {
	var def FieldDef
	known := false
	if fd.Name != "" {
		if def, known = r.Lookup(fd.Name); !known {
			return Field{}, valueErr("no registered field " + strconv.Quote(fd.Name))
		}
		if fd.NS != nil && *fd.NS != def.NS || fd.ID != nil && *fd.ID != def.ID {
			return Field{}, valueErr(strconv.Quote(fd.Name) + " is (ns " + strconv.Itoa(int(def.NS)) + ", id " + strconv.Itoa(int(def.ID)) + ")")
		}
	} else {
		if fd.NS == nil || fd.ID == nil {
			return Field{}, valueErr("a field needs a name, or ns and id")
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
		return Field{}, valueErr("both value and raw")
	case fd.Raw != nil:
		b, err := hex.DecodeString(*fd.Raw)
		if err != nil {
			return Field{}, valueErr("raw: " + err.Error())
		}
		fld.Value = b
	case !known:
		return Field{}, valueErr("unregistered field (ns " + strconv.Itoa(int(fld.NS)) + ", id " + strconv.Itoa(int(fld.ID)) + ") needs raw")
	case fd.Value == nil:
		return Field{}, valueErr(strconv.Quote(def.Name) + " has no value")
	default:
		b, err := valueBytes(def.Type, fd.Value)
		if err != nil {
			return Field{}, valueErr(strconv.Quote(def.Name) + ": " + err.Error())
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
		return nil, errors.New(text + " does not fit a " + t.String())
	}
	return appendBE(out[:0], v, w), nil
}

func valueErr(detail string) *Error { return &Error{Err: ErrValue, Offset: -1, Detail: detail} }

// ReadHex reads hex text, the format of the test vectors and of
// `turnout qn decode --hex`: white space anywhere is ignored, and so is
// everything from '#' to the end of a line, so a dump can be annotated.
func ReadHex(r io.Reader) ([]byte, error) {
	var digits []byte
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		text := sc.Bytes()
		if i := bytes.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		for _, c := range text {
			if !unicode.IsSpace(rune(c)) {
				digits = append(digits, c)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	out := make([]byte, hex.DecodedLen(len(digits)))
	if _, err := hex.Decode(out, digits); err != nil {
		return nil, errors.New("qn: hex input: " + err.Error())
	}
	return out, nil
}
