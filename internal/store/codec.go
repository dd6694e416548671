package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
)

// maxKeyLen bounds service names and blob keys (bbolt allows 32 KiB keys).
const maxKeyLen = 1024

var blobBucketRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,62}$`)

func validateService(service string) error {
	if service == "" {
		return fmt.Errorf("%w: empty service name", ErrInvalid)
	}
	if len(service) > maxKeyLen {
		return fmt.Errorf("%w: service name longer than %d bytes", ErrInvalid, maxKeyLen)
	}
	return nil
}

func validateRollout(s RolloutState) error {
	if err := validateService(s.Service); err != nil {
		return err
	}
	switch s.State {
	case StatePending, StateProgressing, StatePaused, StatePromoted, StateRolledBack:
	default:
		return fmt.Errorf("%w: rollout %q: unknown state %q", ErrInvalid, s.Service, s.State)
	}
	switch s.WeightSource {
	case "", SourceConfig, SourceAPI, SourceEngine, SourceHold:
	default:
		return fmt.Errorf("%w: rollout %q: unknown weight source %q", ErrInvalid, s.Service, s.WeightSource)
	}
	if math.IsNaN(s.Weight) || s.Weight < 0 || s.Weight > 100 {
		return fmt.Errorf("%w: rollout %q: weight %v outside 0..100", ErrInvalid, s.Service, s.Weight)
	}
	if s.Step < -1 {
		return fmt.Errorf("%w: rollout %q: step %d below -1", ErrInvalid, s.Service, s.Step)
	}
	return nil
}

// appendRollout appends the encoding of s to b (c, when not nil, remembers
// the times it formats).
func appendRollout(b []byte, s RolloutState, c *timeCache) ([]byte, error) {
	if out, ok := appendRolloutJSON(b, s, c); ok {
		return out, nil
	}
	js, err := json.Marshal(s)
	if err != nil {
		return b, fmt.Errorf("%w: rollout %q: %w", ErrInvalid, s.Service, err)
	}
	return append(b, js...), nil
}

// encodeRolloutChecked validates and encodes a rollout for storage.
func encodeRolloutChecked(st RolloutState) ([]byte, error) {
	if err := validateRollout(st); err != nil {
		return nil, err
	}
	return appendRollout(make([]byte, 0, 384), st, nil)
}

func decodeRollout(service string, data []byte) (RolloutState, error) {
	var s RolloutState
	if err := json.Unmarshal(data, &s); err != nil {
		return RolloutState{}, fmt.Errorf("%w: rollout %q: %w", ErrCorrupt, service, err)
	}
	s.Service = service // the key is authoritative
	return s, nil
}

// encodeEventJSON encodes e without its Seq: the key (or slot) holds the Seq,
// so the JSON can be built before the write transaction assigns one.
func encodeEventJSON(e Event) ([]byte, error) {
	return appendEvent(make([]byte, 0, 256), e, nil)
}

// appendEvent appends the encoding of e without its Seq to b, as
// encodeEventJSON (c, when not nil, remembers the times it formats).
func appendEvent(b []byte, e Event, c *timeCache) ([]byte, error) {
	if e.Type == "" {
		return b, fmt.Errorf("%w: event without a type", ErrInvalid)
	}
	if len(e.Service) > maxKeyLen {
		return b, fmt.Errorf("%w: event service name longer than %d bytes", ErrInvalid, maxKeyLen)
	}
	e.Seq = 0
	if len(e.Fields) == 0 && len(e.RawFields) > 0 {
		if err := checkRawFields(e.RawFields); err != nil {
			return b, fmt.Errorf("%w: event %s: %w", ErrInvalid, e.Type, err)
		}
	}
	if out, ok := appendEventJSON(b, e, c); ok {
		return out, nil
	}
	if len(e.Fields) == 0 && len(e.RawFields) > 0 {
		_ = json.Unmarshal(e.RawFields, &e.Fields) // checked
	}
	js, err := json.Marshal(e)
	if err != nil {
		return b, fmt.Errorf("%w: event %s: %w", ErrInvalid, e.Type, err)
	}
	return append(b, js...), nil
}

// checkRawFields makes sure that Event.RawFields is a JSON object.
func checkRawFields(raw json.RawMessage) error {
	if raw[0] != '{' || !json.Valid(raw) {
		return errors.New("raw fields are not a JSON object")
	}
	return nil
}

func decodeEventJSON(seq uint64, data []byte) (Event, error) {
	var e Event
	if err := json.Unmarshal(data, &e); err != nil {
		return Event{}, fmt.Errorf("%w: event %d: %w", ErrCorrupt, seq, err)
	}
	e.Seq = seq
	return e, nil
}

// packEvent prefixes the event JSON with its service, so that a query by
// service filters without decoding JSON: uvarint len(service), service, JSON.
func packEvent(service string, js []byte) []byte {
	b := make([]byte, 0, binary.MaxVarintLen64+len(service)+len(js))
	return append(appendPackHeader(b, service), js...)
}

// appendPackHeader appends what packEvent puts before the JSON.
func appendPackHeader(b []byte, service string) []byte {
	b = binary.AppendUvarint(b, uint64(len(service)))
	return append(b, service...)
}

// unpackEvent splits a packed event value; the returned slices alias v.
func unpackEvent(seq uint64, v []byte) (service, js []byte, err error) {
	n, w := binary.Uvarint(v)
	if w <= 0 || n > uint64(len(v)-w) {
		return nil, nil, fmt.Errorf("%w: event %d: bad record header", ErrCorrupt, seq)
	}
	return v[w : w+int(n)], v[w+int(n):], nil
}

func seqKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, seq)
}

func keySeq(k []byte) (uint64, error) {
	if len(k) != 8 {
		return 0, fmt.Errorf("%w: event key of %d bytes", ErrCorrupt, len(k))
	}
	return binary.BigEndian.Uint64(k), nil
}

// eventLimit resolves EventQuery.Limit.
func eventLimit(limit int) (int, error) {
	switch {
	case limit < 0:
		return 0, fmt.Errorf("%w: negative event limit %d", ErrInvalid, limit)
	case limit == 0:
		return DefaultEventLimit, nil
	case limit > MaxEventLimit:
		return MaxEventLimit, nil
	}
	return limit, nil
}

// eventFloor is the Seq at and below which events are invisible: those the
// caller has seen (after) and those beyond the newest max (pruning may lag).
func eventFloor(last uint64, max int, after uint64) uint64 {
	if last > uint64(max) && last-uint64(max) > after {
		return last - uint64(max)
	}
	return after
}

// pruneSlack is how far the event log may physically exceed max before
// Append deletes a batch, so pruning costs O(1) amortised per Append.
func pruneSlack(max int) int {
	return min(max/64, 1024)
}

func validateBlob(bucket, key string) error {
	if !blobBucketRE.MatchString(bucket) {
		return fmt.Errorf("%w: blob bucket name %q (want 1-63 of a-z 0-9 _ . -, starting with a letter or digit)", ErrInvalid, bucket)
	}
	if key == "" || len(key) > maxKeyLen {
		return fmt.Errorf("%w: blob key must be 1-%d bytes", ErrInvalid, maxKeyLen)
	}
	return nil
}

func validateBlobValue(bucket, key string, value []byte) error {
	if err := validateBlob(bucket, key); err != nil {
		return err
	}
	if len(value) > MaxBlobSize {
		return fmt.Errorf("%w: blob %s/%s is %d bytes, max %d", ErrInvalid, bucket, key, len(value), MaxBlobSize)
	}
	return nil
}

func validateBlobBucket(bucket string) error {
	if !blobBucketRE.MatchString(bucket) {
		return validateBlob(bucket, "x")
	}
	return nil
}

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
