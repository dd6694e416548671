package store

// The record codec, exported for other keepers of the same records: the
// fleet (internal/cluster) keeps rollout states and events in etcd in the
// encoding this package keeps them in bbolt, checked the same way.

// EncodeRollout validates s as PutRollout does and returns its encoding;
// the error wraps ErrInvalid.
func EncodeRollout(s RolloutState) ([]byte, error) { return encodeRolloutChecked(s) }

// DecodeRollout decodes a record EncodeRollout wrote; service (the record's
// key) overrides the one inside. The error wraps ErrCorrupt.
func DecodeRollout(service string, data []byte) (RolloutState, error) {
	return decodeRollout(service, data)
}

// EncodeEvent validates e as Append does and returns its encoding without
// Seq (the keeper's key holds it); the error wraps ErrInvalid.
func EncodeEvent(e Event) ([]byte, error) { return encodeEventJSON(e) }

// DecodeEvent decodes a record EncodeEvent wrote, with seq as its Seq. The
// error wraps ErrCorrupt.
func DecodeEvent(seq uint64, data []byte) (Event, error) { return decodeEventJSON(seq, data) }

// EventLimit resolves EventQuery.Limit: 0 is DefaultEventLimit, larger than
// MaxEventLimit is MaxEventLimit, negative wraps ErrInvalid.
func EventLimit(limit int) (int, error) { return eventLimit(limit) }
