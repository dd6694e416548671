package qn

import "strconv"

// DropReason says why a v2 field could not be carried into v1.
type DropReason uint8

// The reasons a field is dropped by ToV1.
const (
	DropNamespace    DropReason = iota + 1 // namespace other than 0
	DropFieldVersion                       // field version other than 1
	DropID                                 // id above 255 (v1 ids are one byte)
	DropTooLong                            // value longer than 255 bytes
)

var dropReasonNames = [...]string{DropNamespace: "namespace", DropFieldVersion: "field_version", DropID: "id", DropTooLong: "too_long"}

func (r DropReason) String() string {
	if r >= DropNamespace && r <= DropTooLong {
		return dropReasonNames[r]
	}
	return "drop(" + strconv.Itoa(int(r)) + ")"
}

// Drop is one field a translation dropped.
type Drop struct {
	NS     uint8
	ID     uint16
	Ver    uint8
	Len    int // value length in bytes
	Reason DropReason
}

// Loss is what ToV1 could not carry, field by field. Keep one per connection
// and Reset it between frames: Dropped reuses its capacity, so translation
// allocates only when a frame drops more fields than any before it.
type Loss struct {
	Dropped []Drop // one entry per dropped field, in wire order
	Flags   Flags  // v2 flag bits the v1 frame does not carry
}

// Reset empties l, keeping its capacity.
func (l *Loss) Reset() { l.Dropped, l.Flags = l.Dropped[:0], 0 }

// Count returns how many fields at (ns, id) were dropped.
func (l *Loss) Count(ns uint8, id uint16) int {
	n := 0
	for _, d := range l.Dropped {
		if d.NS == ns && d.ID == id {
			n++
		}
	}
	return n
}

// RefusalReason says why a frame could not be translated at all.
type RefusalReason uint8

// The reasons ToV1 refuses a frame. The gateway answers a refused frame with
// a NACK of the same sequence number to its sender.
const (
	RefuseRequired RefusalReason = iota + 1 // a required_downgrade field would be dropped
	RefuseSeq                               // sequence number above 65,535
	RefuseType                              // ERROR frames do not exist in v1
	RefuseSize                              // the v1 payload would exceed 65,535 bytes
)

var refusalNames = [...]string{RefuseRequired: "required_field", RefuseSeq: "sequence", RefuseType: "type", RefuseSize: "size"}

func (r RefusalReason) String() string {
	if r >= RefuseRequired && r <= RefuseSize {
		return refusalNames[r]
	}
	return "refusal(" + strconv.Itoa(int(r)) + ")"
}

// RefusedError is returned when translation must refuse a frame rather than
// lose something QN.md does not allow to be lost. errors.Is(err, ErrRefused).
type RefusedError struct {
	Reason RefusalReason
	Seq    uint32
	Field  Drop   // the required field, for RefuseRequired
	Name   string // its registered name, for RefuseRequired
}

func (e *RefusedError) Error() string {
	s := ErrRefused.Error() + " (" + e.Reason.String() + ") for seq " + strconv.FormatUint(uint64(e.Seq), 10)
	if e.Reason == RefuseRequired {
		s += ": required_downgrade field " + strconv.Quote(e.Name) + " would be dropped (" + e.Field.Reason.String() + ")"
	}
	return s
}

func (e *RefusedError) Unwrap() error { return ErrRefused }

// ToV2 appends the v2 form of a v1 frame to dst: every field becomes
// (ns 0, id, fver 1), type and sequence are carried over, flags are 0. It
// never loses anything. A v2 frame is appended unchanged.
func ToV2(dst []byte, f *Frame) ([]byte, error) {
	if f.Version == V2 {
		return append(dst, f.Raw...), nil
	}
	var b Builder
	b.Reset(dst, Header{Version: V2, Type: f.Type, Seq: f.Seq})
	it := f.Fields()
	for it.Next() {
		b.Add(it.Field())
	}
	if err := it.Err(); err != nil {
		return dst, err
	}
	return b.Finish()
}

// ToV1 appends the v1 form of a v2 frame to dst. Namespace-0 fields with
// field version 1, an id ≤ 255 and a value ≤ 255 bytes are kept in order;
// every other field is dropped and appended to loss (when loss is not nil),
// as are the flags v1 cannot carry. The frame is refused (*RefusedError,
// nothing appended, loss untouched) when a field registered in reg as
// RequiredDowngrade would be dropped, when the sequence number is above
// 65,535, when it is an ERROR frame, or when the kept fields exceed a v1
// payload. A v1 frame is appended unchanged. reg may be nil.
func ToV1(dst []byte, f *Frame, reg *Registry, loss *Loss) ([]byte, error) {
	if f.Version == V1 {
		return append(dst, f.Raw...), nil
	}
	refuse := func(r RefusalReason) error { return &RefusedError{Reason: r, Seq: f.Seq} }
	switch {
	case f.Type == TypeError:
		return dst, refuse(RefuseType)
	case f.Seq > MaxSeqV1:
		return dst, refuse(RefuseSeq)
	}
	mark := 0
	if loss != nil {
		mark = len(loss.Dropped)
	}
	undo := func() {
		if loss != nil {
			loss.Dropped = loss.Dropped[:mark]
		}
	}
	var b Builder
	b.Reset(dst, Header{Version: V1, Type: f.Type, Seq: f.Seq})
	it := f.Fields()
	for it.Next() {
		fld := it.Field()
		reason := dropReason(fld)
		if reason == 0 {
			b.Add(fld)
			continue
		}
		drop := Drop{NS: fld.NS, ID: fld.ID, Ver: fld.Ver, Len: len(fld.Value), Reason: reason}
		if d, ok := reg.LookupID(fld.NS, fld.ID); ok && d.RequiredDowngrade {
			undo()
			return dst, &RefusedError{Reason: RefuseRequired, Seq: f.Seq, Field: drop, Name: d.Name}
		}
		if loss != nil {
			loss.Dropped = append(loss.Dropped, drop)
		}
	}
	if err := it.Err(); err != nil {
		undo()
		return dst, err
	}
	out, err := b.Finish()
	if err != nil {
		undo()
		return dst, refuse(RefuseSize)
	}
	if loss != nil {
		loss.Flags |= f.Flags
	}
	return out, nil
}

// dropReason is 0 when v1 can carry fld as it is.
func dropReason(fld Field) DropReason {
	switch {
	case fld.NS != 0:
		return DropNamespace
	case fld.Ver != 1:
		return DropFieldVersion
	case fld.ID > 255:
		return DropID
	case len(fld.Value) > MaxValueV1:
		return DropTooLong
	}
	return 0
}

// Translate appends f in version to (see ToV1 and ToV2).
func Translate(dst []byte, f *Frame, to Version, reg *Registry, loss *Loss) ([]byte, error) {
	switch to {
	case V1:
		return ToV1(dst, f, reg, loss)
	case V2:
		return ToV2(dst, f)
	}
	return dst, errAt(ErrNotQN, -1, "no version "+to.String())
}
