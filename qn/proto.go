package qn

import (
	"bufio"
	"io"
	"strconv"
)

// ProtoNumber is the Protocol Buffers field number of the QN field (ns, id):
//
//	n = ns<<16 | id                  (0 … 16,777,215)
//	n = 1<<24 + (ns<<16 | id)        when that n is 0 or in 19,000–19,999
//
// Protobuf forbids field number 0 and reserves 19,000–19,999; the escape
// range 1<<24 + n is above every first-rule number and below protobuf's
// maximum (2^29 − 1), so the mapping is one-to-one on all (ns, id): numbers
// never collide and never change when other fields are registered. Core
// fields keep their ids (device_id = 1).
func ProtoNumber(ns uint8, id uint16) uint32 {
	n := fieldKey(ns, id)
	if n == 0 || n >= 19000 && n <= 19999 {
		return 1<<24 + n
	}
	return n
}

// ProtoPackage and ProtoMessage name what WriteProto declares.
const (
	ProtoPackage = "turnout.qn"
	ProtoMessage = "Fields"
)

// protoType is the proto3 scalar type carrying a QN type.
func protoType(t FieldType) string {
	switch t {
	case U8, U16, U32:
		return "uint32"
	case U64:
		return "uint64"
	case I64:
		return "int64"
	case Bool:
		return "bool"
	case String:
		return "string"
	}
	return "bytes"
}

// WriteProto writes a proto3 file with one message holding every registered
// field, named as registered and numbered by ProtoNumber, so programs in
// other languages can carry QN payloads with generated code. The output
// depends only on the registered fields (sorted by namespace and id), so it
// is stable from run to run.
func (r *Registry) WriteProto(w io.Writer) error {
	bw := bufio.NewWriter(w)
	p := func(s ...string) {
		for _, x := range s {
			bw.WriteString(x)
		}
		bw.WriteByte('\n')
	}
	p("// QN payload fields as Protocol Buffers; written by `turnout qn proto`.")
	p("//")
	p("// One message holds every registered field. Field numbers derive from the")
	p("// QN namespace and id, never from registration order:")
	p("//   number = ns<<16 | id, or 1<<24 + (ns<<16 | id) when that is 0 or in")
	p("//   protobuf's reserved 19000-19999; distinct (ns, id) never share a number.")
	p("// u8 and u16 travel as uint32. Field versions are noted, not encoded.")
	p(`syntax = "proto3";`)
	p()
	p("package ", ProtoPackage, ";")
	p()
	p("message ", ProtoMessage, " {")
	for i, d := range r.Fields() {
		if i > 0 {
			p()
		}
		note := "  // ns " + strconv.Itoa(int(d.NS)) + ", id " + strconv.Itoa(int(d.ID)) +
			", fver " + strconv.Itoa(int(d.Version)) + ", QN type " + d.Type.String()
		if d.RequiredDowngrade {
			note += ", required_downgrade"
		}
		p(note)
		opt := ""
		if d.Deprecated {
			opt = " [deprecated = true]"
		}
		p("  optional ", protoType(d.Type), " ", d.Name, " = ", strconv.FormatUint(uint64(ProtoNumber(d.NS, d.ID)), 10), opt, ";")
	}
	p("}")
	return bw.Flush()
}
