package qn

import (
	"encoding/binary"
	"hash/crc32"
	"strconv"
)

// castagnoli is the CRC-32C table of v2 checksums.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Decoder holds the limits a reader enforces. The zero Decoder accepts what
// QN.md allows (payloads up to 65,535 bytes in v1 and 16 MiB in v2) and up to
// DefaultMaxFields fields. A Decoder is a value; it is safe for concurrent use.
type Decoder struct {
	// MaxPayload caps the payload length below the protocol's own limit;
	// 0 or a larger value means the protocol limit.
	MaxPayload int
	// MaxFields caps the number of fields per frame; 0 means DefaultMaxFields.
	MaxFields int
}

func (d Decoder) maxPayload(v Version) int {
	limit := MaxPayloadV1
	if v == V2 {
		limit = MaxPayloadV2
	}
	if d.MaxPayload > 0 && d.MaxPayload < limit {
		return d.MaxPayload
	}
	return limit
}

func (d Decoder) maxFields() int {
	if d.MaxFields > 0 {
		return d.MaxFields
	}
	return DefaultMaxFields
}

// Parse parses the frame at the start of b with the zero Decoder.
func Parse(b []byte) (Frame, int, error) { return Decoder{}.Parse(b) }

// FrameLen checks the header at the start of b and returns the length of the
// whole frame, without needing its payload. It returns ErrShort when b holds
// less than a header, so a stream reader knows how much to read before it
// reads it, and refuses an oversized payload before any of it arrives.
func (d Decoder) FrameLen(b []byte) (int, error) {
	v, err := Sniff(b)
	if err != nil {
		return 0, err
	}
	var typ, flags byte
	var n int
	switch v {
	case V1:
		if len(b) < V1HeaderLen {
			return 0, ErrShort
		}
		typ = b[1]
		n = int(binary.BigEndian.Uint16(b[4:6]))
	default:
		if len(b) < V2HeaderLen {
			return 0, ErrShort
		}
		typ, flags = b[2], b[3]
		n = int(binary.BigEndian.Uint32(b[8:12])) // fits int on 32-bit too: checked below before use
		if n < 0 {
			n = MaxPayloadV2 + 1
		}
	}
	if !Type(typ).ValidIn(v) {
		return 0, errAt(ErrType, typeOffset(v), v.String()+" type 0x"+hexByte(typ))
	}
	if Flags(flags)&flagsReserved != 0 {
		return 0, errAt(ErrFlags, 3, "flags 0x"+hexByte(flags))
	}
	if limit := d.maxPayload(v); n > limit {
		return 0, errAt(ErrTooLarge, lengthOffset(v), "length "+strconv.Itoa(n)+" > "+strconv.Itoa(limit))
	}
	if v == V1 {
		return V1HeaderLen + n, nil
	}
	return V2HeaderLen + n + V2TrailerLen, nil
}

func typeOffset(v Version) int {
	if v == V1 {
		return 1
	}
	return 2
}

func lengthOffset(v Version) int {
	if v == V1 {
		return 4
	}
	return 8
}

// Parse parses the frame at the start of b and returns it with the number of
// bytes it took. The header, the checksum (v2), the limits and the layout of
// every field are checked here, so iterating over the fields of a returned
// frame cannot fail. Parse allocates nothing: the Frame points into b.
// It returns ErrShort when b ends before the frame does.
func (d Decoder) Parse(b []byte) (Frame, int, error) {
	n, err := d.FrameLen(b)
	if err != nil {
		return Frame{}, 0, err
	}
	if len(b) < n {
		return Frame{}, 0, ErrShort
	}
	raw := b[:n:n]
	f := Frame{Raw: raw, Header: Header{Version: Version(raw[0])}}
	if f.Version == V1 {
		f.Type = Type(raw[1])
		f.Seq = uint32(binary.BigEndian.Uint16(raw[2:4]))
		f.Payload = raw[V1HeaderLen:]
	} else {
		f.Type, f.Flags = Type(raw[2]), Flags(raw[3])
		f.Seq = binary.BigEndian.Uint32(raw[4:8])
		body := n - V2TrailerLen
		want := binary.BigEndian.Uint32(raw[body:])
		if got := crc32.Checksum(raw[:body], castagnoli); got != want {
			return Frame{}, 0, errAt(ErrChecksum, body, "frame says 0x"+strconv.FormatUint(uint64(want), 16)+
				", bytes give 0x"+strconv.FormatUint(uint64(got), 16))
		}
		f.Payload = raw[V2HeaderLen:body]
	}
	count, err := checkFields(f.Version, f.Payload, d.maxFields())
	if err != nil {
		return Frame{}, 0, err
	}
	f.NumFields = count
	return f, n, nil
}

// checkFields walks a payload once and counts its fields, or says where the
// first malformed one is (offsets are relative to the frame).
func checkFields(v Version, p []byte, maxFields int) (int, error) {
	base := V1HeaderLen
	if v == V2 {
		base = V2HeaderLen
	}
	count := 0
	for off := 0; off < len(p); {
		_, next, err := fieldEnd(v, p, off)
		if err != nil {
			return 0, errAt(ErrMalformed, base+off, err.Error())
		}
		count++
		if count > maxFields {
			return 0, errAt(ErrTooManyFields, base+off, "more than "+strconv.Itoa(maxFields))
		}
		off = next
	}
	return count, nil
}

// fieldError is a static reason from fieldEnd; it never allocates.
type fieldError string

func (e fieldError) Error() string { return string(e) }

const (
	errFieldHeader   fieldError = "field header runs past the payload"
	errFieldValue    fieldError = "field value runs past the payload"
	errVarintShort   fieldError = "length uvarint runs past the payload"
	errVarintLong    fieldError = "length uvarint longer than any payload"
	errVarintNonMini fieldError = "length uvarint is not minimal"
)

// fieldEnd returns where the value of the field at off starts and where the
// field ends.
func fieldEnd(v Version, p []byte, off int) (value, end int, err error) {
	if v == V1 {
		if len(p)-off < 2 {
			return 0, 0, errFieldHeader
		}
		end := off + 2 + int(p[off+1])
		if end > len(p) {
			return 0, 0, errFieldValue
		}
		return off + 2, end, nil
	}
	if len(p)-off < 5 {
		return 0, 0, errFieldHeader
	}
	l, w, err := uvarint(p[off+4:])
	if err != nil {
		return 0, 0, err
	}
	value = off + 4 + w
	if l > uint64(len(p)-value) {
		return 0, 0, errFieldValue
	}
	return value, value + int(l), nil
}

// uvarint reads a minimal unsigned LEB128 of at most 4 bytes (2^28 > 16 MiB).
// Requiring the minimal form makes the encoding canonical: decoding then
// re-encoding any valid frame gives back the same bytes.
func uvarint(b []byte) (uint64, int, error) {
	var v uint64
	for i := 0; i < 4; i++ {
		if i == len(b) {
			return 0, 0, errVarintShort
		}
		c := b[i]
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			if c == 0 && i > 0 {
				return 0, 0, errVarintNonMini
			}
			return v, i + 1, nil
		}
	}
	return 0, 0, errVarintLong
}
