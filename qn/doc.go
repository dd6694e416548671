// Package qn reads, writes and translates QN, Turnout's binary device
// protocol (shared/QN.md): framed type-length-value payloads in two versions.
//
//	v1: [0x01][type][seq:2][len:2] then fields [id:1][len:1][value]
//	v2: [0x02][0x01][type][flags][seq:4][len:4] then fields
//	    [ns:1][id:2][fver:1][len:uvarint][value], then CRC-32C of all before
//
// # Reading
//
// Parse (or a Decoder with tighter limits) checks a whole frame — header,
// limits, v2 checksum, the layout of every field — and returns a Frame whose
// Payload and fields are views of the input bytes. Iterating with
// Frame.Fields allocates nothing and cannot fail on a parsed frame. Parse
// never panics, whatever the input; every error unwraps to one of the Err*
// sentinels and, where there is one, carries the byte offset (*Error).
// Reader reads frames off a stream with a buffer that grows only with the
// bytes that arrive. Sniff tells v1 from v2 from a connection's first bytes.
//
// Decoding is canonical: v2 lengths must be minimal uvarints, so re-encoding
// the fields of any parsed frame gives back its exact bytes.
//
// # Writing
//
// Builder appends a frame field by field; Encode does it from a slice.
// Writing a field the version cannot carry is an error, never a truncation.
//
// # Fields
//
// A Registry maps (namespace, id) to a name, a type, a field version and the
// deprecated and required_downgrade marks. Default holds QN.md's core fields
// (namespace 0: device_id, timestamp_ms, kind, body, status); modules add
// theirs at run time. Unregistered fields are skipped and counted
// (Registry.Known), never an error. WriteProto describes the registered
// fields as a proto3 message, and Doc/EncodeDoc convert frames to and from
// JSON with field names.
//
// # Translation
//
// ToV2 carries every v1 field over as (ns 0, id, fver 1) and never loses
// anything. ToV1 keeps namespace-0, fver-1 fields with an id and a value that
// fit a byte, drops the rest into a Loss (field by field, with the reason)
// and refuses the frame (*RefusedError) when a required_downgrade field would
// be dropped, when the sequence number exceeds 65,535, for ERROR frames, and
// when the result would not fit a v1 payload. A v1 frame translated to v2 and
// back is the same bytes.
//
// Choices QN.md leaves open, made here: integers are fixed-width (u16 is two
// bytes), a bool is one byte 0 or 1; a v2 flag bit 2–7 set is an error; a
// frame may hold at most DefaultMaxFields fields unless the Decoder says
// otherwise; v2 flags are reported in Loss.Flags when v1 drops them; an
// ERROR frame has no v1 form and is refused.
package qn
