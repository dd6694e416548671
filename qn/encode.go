package qn

import (
	"encoding/binary"
	"hash/crc32"
	"strconv"
)

// Builder appends one frame to a byte slice, field by field, allocating
// nothing beyond the slice's growth. The zero Builder is ready for Reset.
//
//	var b qn.Builder
//	b.Reset(buf[:0], qn.Header{Version: qn.V2, Type: qn.TypeData, Seq: 7})
//	b.AddString(0, 1, 1, "dev-42")
//	b.AddUint(0, 2, 1, 8, uint64(ms))
//	buf, err := b.Finish()
//
// The first error (a header or a field the version cannot carry) is kept and
// returned by Finish; later calls do nothing.
type Builder struct {
	buf   []byte
	start int // where the frame begins in buf
	v     Version
	err   error
}

// Reset begins a frame appended to dst.
func (b *Builder) Reset(dst []byte, h Header) {
	b.buf, b.start, b.v, b.err = dst, len(dst), h.Version, checkHeader(h)
	if b.err != nil {
		return
	}
	if h.Version == V1 {
		b.buf = append(b.buf, byte(V1), byte(h.Type), byte(h.Seq>>8), byte(h.Seq), 0, 0)
		return
	}
	b.buf = append(b.buf, byte(V2), v2HeaderFmt, byte(h.Type), byte(h.Flags))
	b.buf = binary.BigEndian.AppendUint32(b.buf, h.Seq)
	b.buf = append(b.buf, 0, 0, 0, 0)
}

func checkHeader(h Header) error {
	switch {
	case h.Version != V1 && h.Version != V2:
		return errAt(ErrNotQN, 0, "version "+h.Version.String())
	case !h.Type.ValidIn(h.Version):
		return errAt(ErrType, typeOffset(h.Version), h.Version.String()+" has no type "+h.Type.String())
	case h.Version == V1 && h.Flags != 0, h.Flags&flagsReserved != 0:
		return errAt(ErrFlags, -1, h.Version.String()+" flags 0x"+hexByte(byte(h.Flags)))
	case h.Version == V1 && h.Seq > MaxSeqV1:
		return errAt(ErrSeq, 2, "v1 sequence "+strconv.FormatUint(uint64(h.Seq), 10)+" > 65535")
	}
	return nil
}

// addHeader appends a field's header for a value of n bytes.
func (b *Builder) addHeader(ns uint8, id uint16, ver uint8, n int) bool {
	if b.err != nil {
		return false
	}
	if b.v == V1 {
		if ns != 0 || ver != 1 || id > 255 || n > MaxValueV1 {
			b.err = errAt(ErrField, len(b.buf)-b.start, "v1 cannot carry field (ns "+strconv.Itoa(int(ns))+
				", id "+strconv.Itoa(int(id))+", fver "+strconv.Itoa(int(ver))+") of "+strconv.Itoa(n)+" bytes")
			return false
		}
		b.buf = append(b.buf, byte(id), byte(n))
		return true
	}
	if n > MaxPayloadV2 {
		b.err = errAt(ErrTooLarge, len(b.buf)-b.start, "value of "+strconv.Itoa(n)+" bytes")
		return false
	}
	b.buf = append(b.buf, ns, byte(id>>8), byte(id), ver)
	b.buf = binary.AppendUvarint(b.buf, uint64(n))
	return true
}

// Add appends a field.
func (b *Builder) Add(f Field) {
	if b.addHeader(f.NS, f.ID, f.Ver, len(f.Value)) {
		b.buf = append(b.buf, f.Value...)
	}
}

// AddString appends a field whose value is s (string or bytes types).
func (b *Builder) AddString(ns uint8, id uint16, ver uint8, s string) {
	if b.addHeader(ns, id, ver, len(s)) {
		b.buf = append(b.buf, s...)
	}
}

// AddUint appends an unsigned value big-endian in width bytes (1, 2, 4 or 8,
// for u8, u16, u32, u64); an i64 is AddUint(ns, id, ver, 8, uint64(v)).
// A value that does not fit the width is an ErrValue.
func (b *Builder) AddUint(ns uint8, id uint16, ver uint8, width int, v uint64) {
	if b.err == nil && (width != 1 && width != 2 && width != 4 && width != 8 || width < 8 && v>>(8*width) != 0) {
		b.err = errAt(ErrValue, len(b.buf)-b.start, strconv.FormatUint(v, 10)+" in "+strconv.Itoa(width)+" bytes")
	}
	if b.addHeader(ns, id, ver, width) {
		b.buf = appendBE(b.buf, v, width)
	}
}

// Finish writes the payload length (and the v2 checksum) and returns dst with
// the frame appended. On error it returns dst as it was given to Reset.
func (b *Builder) Finish() ([]byte, error) {
	if b.err != nil {
		return b.buf[:b.start], b.err
	}
	frame := b.buf[b.start:]
	if b.v == V1 {
		n := len(frame) - V1HeaderLen
		if n > MaxPayloadV1 {
			return b.buf[:b.start], errAt(ErrTooLarge, 4, "v1 payload of "+strconv.Itoa(n)+" bytes")
		}
		binary.BigEndian.PutUint16(frame[4:6], uint16(n))
		return b.buf, nil
	}
	n := len(frame) - V2HeaderLen
	if n > MaxPayloadV2 {
		return b.buf[:b.start], errAt(ErrTooLarge, 8, "v2 payload of "+strconv.Itoa(n)+" bytes")
	}
	binary.BigEndian.PutUint32(frame[8:12], uint32(n))
	b.buf = binary.BigEndian.AppendUint32(b.buf, crc32.Checksum(frame, castagnoli))
	return b.buf, nil
}

// Encode appends a frame with the given header and fields to dst.
func Encode(dst []byte, h Header, fields []Field) ([]byte, error) {
	var b Builder
	b.Reset(dst, h)
	for _, f := range fields {
		b.Add(f)
	}
	return b.Finish()
}

func appendBE(dst []byte, v uint64, width int) []byte {
	for i := width - 1; i >= 0; i-- {
		dst = append(dst, byte(v>>(8*i)))
	}
	return dst
}
