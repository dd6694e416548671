package qn

import (
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// FrameDoc is a frame as JSON, for people and tools (`turnout qn decode`
// prints it, `turnout qn encode` reads it). Encoding a FrameDoc made by Doc
// gives back the frame's exact bytes, unknown fields included.
type FrameDoc struct {
	Version string     `json:"version"` // "v1" or "v2"
	Type    string     `json:"type"`    // "DATA", "ACK", ...
	Seq     uint32     `json:"seq"`
	Flags   []string   `json:"flags,omitempty"` // "ack_requested", "exactly_once"
	Fields  []FieldDoc `json:"fields"`
	// Unknown counts the fields that are not registered (written with raw).
	Unknown int `json:"unknown_fields,omitempty"`
}

// FieldDoc is one field. Doc fills name, namespace, id, field version and
// type, and either the typed value or, for a field it cannot interpret
// (unknown, another field version than registered, a value not of the
// type), raw hex and a note. To encode, a name alone is enough (the rest
// comes from the registry), or ns and id with raw.
//
// Values: u8–u64 and i64 are JSON numbers, bool is true/false, string is a
// JSON string, bytes and raw are lower-case hex.
type FieldDoc struct {
	Name       string          `json:"name,omitempty"`
	NS         *uint8          `json:"ns,omitempty"`
	ID         *uint16         `json:"id,omitempty"`
	Ver        *uint8          `json:"fver,omitempty"`
	Type       string          `json:"type,omitempty"`
	Deprecated bool            `json:"deprecated,omitempty"`
	Value      json.RawMessage `json:"value,omitempty"`
	Raw        *string         `json:"raw,omitempty"`
	Note       string          `json:"note,omitempty"`
}

var flagNames = [...]string{"ack_requested", "exactly_once"}

// Doc describes f with the names and types of r.
func (r *Registry) Doc(f *Frame) FrameDoc {
	d := FrameDoc{Version: f.Version.String(), Type: f.Type.String(), Seq: f.Seq, Fields: make([]FieldDoc, 0, f.NumFields)}
	for i, name := range flagNames {
		if f.Flags&(1<<i) != 0 {
			d.Flags = append(d.Flags, name)
		}
	}
	for it := f.Fields(); it.Next(); {
		fld := it.Field()
		fd := FieldDoc{NS: &fld.NS, ID: &fld.ID, Ver: &fld.Ver}
		def, known := r.LookupID(fld.NS, fld.ID)
		if !known {
			d.Unknown++
			fd.setRaw(fld.Value, "")
		} else {
			fd.Name, fd.Type, fd.Deprecated = def.Name, def.Type.String(), def.Deprecated
			switch v, err := valueJSON(def.Type, fld); {
			case fld.Ver != def.Version:
				fd.setRaw(fld.Value, "field version "+strconv.Itoa(int(fld.Ver))+", registered "+strconv.Itoa(int(def.Version)))
			case err != nil:
				fd.setRaw(fld.Value, err.Error())
			default:
				fd.Value = v
			}
		}
		d.Fields = append(d.Fields, fd)
	}
	return d
}

func (fd *FieldDoc) setRaw(b []byte, note string) {
	s := hex.EncodeToString(b)
	fd.Raw, fd.Note = &s, note
}

// valueJSON renders a value of type t.
func valueJSON(t FieldType, fld Field) (json.RawMessage, error) {
	bad := errAt(ErrValue, -1, strconv.Itoa(len(fld.Value))+" bytes are not a "+t.String())
	var s string
	switch t {
	case U8, U16, U32, U64:
		if len(fld.Value) != t.Width() {
			return nil, bad
		}
		v, _ := fld.Uint()
		s = strconv.FormatUint(v, 10)
	case I64:
		v, ok := fld.Int()
		if !ok {
			return nil, bad
		}
		s = strconv.FormatInt(v, 10)
	case Bool:
		v, ok := fld.Bool()
		if !ok {
			return nil, bad
		}
		s = strconv.FormatBool(v)
	case String:
		if !utf8.Valid(fld.Value) {
			return nil, errAt(ErrValue, -1, "string is not UTF-8")
		}
		var sb strings.Builder
		enc := json.NewEncoder(&sb)
		enc.SetEscapeHTML(false) // "<" stays "<" for people; still valid JSON
		err := enc.Encode(string(fld.Value))
		return json.RawMessage(strings.TrimSuffix(sb.String(), "\n")), err
	default:
		s = strconv.Quote(hex.EncodeToString(fld.Value))
	}
	return json.RawMessage(s), nil
}
