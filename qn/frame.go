package qn

import (
	"strconv"
	"strings"
)

// Version is the QN protocol version, the first byte of every frame.
type Version uint8

// The two protocol versions.
const (
	V1 Version = 1
	V2 Version = 2
)

func (v Version) String() string {
	switch v {
	case V1:
		return "v1"
	case V2:
		return "v2"
	}
	return "v?" + strconv.Itoa(int(v))
}

// ParseVersion reads "v1", "v2", "1" or "2".
func ParseVersion(s string) (Version, error) {
	switch strings.ToLower(s) {
	case "v1", "1":
		return V1, nil
	case "v2", "2":
		return V2, nil
	}
	return 0, errAt(ErrNotQN, -1, "unknown version "+strconv.Quote(s))
}

// Type is the frame type.
type Type uint8

// Frame types. TypeError exists only in v2.
const (
	TypeData  Type = 0x01
	TypeAck   Type = 0x02
	TypeNack  Type = 0x03
	TypePing  Type = 0x04
	TypePong  Type = 0x05
	TypeError Type = 0x06
)

var typeNames = [...]string{TypeData: "DATA", TypeAck: "ACK", TypeNack: "NACK", TypePing: "PING", TypePong: "PONG", TypeError: "ERROR"}

func (t Type) String() string {
	if t >= TypeData && t <= TypeError {
		return typeNames[t]
	}
	return "TYPE(0x" + strconv.FormatUint(uint64(t), 16) + ")"
}

// ValidIn reports whether the type is defined in version v.
func (t Type) ValidIn(v Version) bool {
	switch v {
	case V1:
		return t >= TypeData && t <= TypePong
	case V2:
		return t >= TypeData && t <= TypeError
	}
	return false
}

// ParseType reads a type name ("DATA", "ack", ...).
func ParseType(s string) (Type, error) {
	for t := TypeData; t <= TypeError; t++ {
		if strings.EqualFold(s, typeNames[t]) {
			return t, nil
		}
	}
	return 0, errAt(ErrType, -1, strconv.Quote(s))
}

// Flags are the v2 flag bits. v1 frames have none.
type Flags uint8

// The defined v2 flags; bits 2–7 must be zero.
const (
	FlagAckRequested Flags = 1 << 0
	FlagExactlyOnce  Flags = 1 << 1 // QoS 2
	flagsReserved    Flags = 0xFC
)

// Header is what precedes the payload: everything but the fields.
type Header struct {
	Version Version
	Type    Type
	Flags   Flags  // always 0 in v1
	Seq     uint32 // ≤ 65,535 in v1
}

// Wire sizes and protocol limits from QN.md.
const (
	V1HeaderLen  = 6
	V2HeaderLen  = 12
	V2TrailerLen = 4 // the CRC-32C
	MaxPayloadV1 = 65535
	MaxPayloadV2 = 16 << 20 // 16 MiB
	MaxValueV1   = 255      // a v1 field length is one byte
	MaxSeqV1     = 65535
	v2HeaderFmt  = 0x01
)

// DefaultMaxFields is the field count a zero Decoder accepts. QN.md sets no
// count; this is Turnout's bound on work per frame (see Decoder).
const DefaultMaxFields = 4096

// Frame is a parsed frame. Payload and Raw are views of the bytes it was
// parsed from: they are valid as long as those bytes are, and are not copied.
type Frame struct {
	Header
	Payload   []byte // the fields, undecoded
	Raw       []byte // the whole frame, header to checksum
	NumFields int    // the number of fields in Payload
}

// Sniff tells the version of a connection from its first bytes: V1 after
// 0x01, V2 after 0x02 0x01. It returns ErrShort when b is too short to tell
// (empty, or only 0x02) and an error wrapping ErrNotQN for anything else.
func Sniff(b []byte) (Version, error) {
	if len(b) == 0 {
		return 0, ErrShort
	}
	switch b[0] {
	case byte(V1):
		return V1, nil
	case byte(V2):
		if len(b) < 2 {
			return 0, ErrShort
		}
		if b[1] == v2HeaderFmt {
			return V2, nil
		}
		return 0, errAt(ErrNotQN, 1, "v2 header format 0x"+hexByte(b[1]))
	}
	return 0, errAt(ErrNotQN, 0, "version byte 0x"+hexByte(b[0]))
}

func hexByte(b byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[b>>4], digits[b&15]})
}
