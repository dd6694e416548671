package qn

import (
	"errors"
	"strconv"
)

// Sentinel errors. Every error this package returns is one of these or an
// *Error (or *RefusedError) that unwraps to one, so callers test the kind with
// errors.Is and get the byte offset with errors.As.
var (
	// ErrShort: the bytes end before the header or the frame does. On a
	// stream, read more and try again; at the end of input, the frame is
	// truncated. Returned bare, so the common "read more" case allocates nothing.
	ErrShort = errors.New("qn: short frame")
	// ErrNotQN: the first bytes are not a QN header (version byte other than
	// 0x01 or 0x02, or a v2 header format other than 0x01).
	ErrNotQN = errors.New("qn: not a QN frame")
	// ErrType: the frame type is not defined for the frame's version.
	ErrType = errors.New("qn: unknown frame type")
	// ErrFlags: v2 flag bits 2–7 are set, or a v1 frame is given flags.
	ErrFlags = errors.New("qn: reserved flag bits set")
	// ErrTooLarge: the payload is longer than the version or the Decoder allows.
	ErrTooLarge = errors.New("qn: payload too large")
	// ErrTooManyFields: the payload holds more fields than the Decoder allows.
	ErrTooManyFields = errors.New("qn: too many fields")
	// ErrMalformed: a field runs past the end of the payload, or a v2 length
	// is not a minimal uvarint.
	ErrMalformed = errors.New("qn: malformed field")
	// ErrChecksum: the CRC-32C of a v2 frame does not match its bytes.
	ErrChecksum = errors.New("qn: checksum mismatch")
	// ErrField: a field cannot be written in this version (v1: namespace 0,
	// field version 1, id ≤ 255 and value ≤ 255 bytes only).
	ErrField = errors.New("qn: field not expressible")
	// ErrSeq: the sequence number does not fit the version (v1: ≤ 65,535).
	ErrSeq = errors.New("qn: sequence number out of range")
	// ErrValue: a value does not match its field's type.
	ErrValue = errors.New("qn: value does not match the field type")
	// ErrRefused: translation refused the frame (see RefusedError).
	ErrRefused = errors.New("qn: translation refused")
	// ErrDuplicate: a registration reuses a registered (namespace, id) or name.
	ErrDuplicate = errors.New("qn: field already registered")
	// ErrInvalidDef: a field definition is not valid (name, type, version).
	ErrInvalidDef = errors.New("qn: invalid field definition")
)

// Error is a decoding or encoding error with its place in the frame.
type Error struct {
	Err    error  // one of the sentinel errors above
	Offset int    // byte offset in the frame, or -1 when there is no place
	Detail string // what was found, for people
}

func (e *Error) Error() string {
	s := e.Err.Error()
	if e.Offset >= 0 {
		s += " at offset " + strconv.Itoa(e.Offset)
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

func errAt(err error, off int, detail string) error {
	return &Error{Err: err, Offset: off, Detail: detail}
}
