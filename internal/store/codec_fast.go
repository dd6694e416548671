package store

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// The encoders in this file write the JSON encoding/json writes for the
// common rollout states and events, without reflection: a reload that
// moves thousands of rollouts stores a state and an event for each. They
// report false for anything they do not write byte for byte as
// encoding/json would (a string that needs escaping, a float in exponent
// form, a last_analysis, a field value of another type), and the caller
// then uses encoding/json. TestFastJSONMatchesEncodingJSON and
// FuzzFastJSON hold them to that.

// timeCache remembers the last two times appendTime formatted: the records
// of one batch carry the same few (the reload's now, a rollout's start).
// Its zero value is empty; a nil *timeCache remembers nothing.
type timeCache struct {
	t    [2]time.Time
	text [2][]byte // quoted, as appendTime writes them; nil when unset
	next int
}

// appendRolloutJSON appends s as json.Marshal encodes it.
func appendRolloutJSON(b []byte, s RolloutState, c *timeCache) ([]byte, bool) {
	if len(s.LastAnalysis) > 0 {
		return b, false
	}
	ok := true
	b = append(b, `{"service":`...)
	b, ok = appendPlainString(b, s.Service, ok)
	b = append(b, `,"from":`...)
	b, ok = appendPlainString(b, s.From, ok)
	b = append(b, `,"to":`...)
	b, ok = appendPlainString(b, s.To, ok)
	b = append(b, `,"spec_hash":`...)
	b, ok = appendPlainString(b, s.SpecHash, ok)
	b = append(b, `,"state":`...)
	b, ok = appendPlainString(b, s.State, ok)
	b = append(b, `,"weight":`...)
	b, ok = appendPlainFloat(b, s.Weight, ok)
	b = append(b, `,"step":`...)
	b = strconv.AppendInt(b, int64(s.Step), 10)
	b = append(b, `,"weight_source":`...)
	b, ok = appendPlainString(b, s.WeightSource, ok)
	b = append(b, `,"reason":`...)
	b, ok = appendPlainString(b, s.Reason, ok)
	b = append(b, `,"started_at":`...)
	b, ok = c.appendTime(b, s.StartedAt, ok)
	b = append(b, `,"step_started_at":`...)
	b, ok = c.appendTime(b, s.StepStartedAt, ok)
	b = append(b, `,"updated_at":`...)
	b, ok = c.appendTime(b, s.UpdatedAt, ok)
	if s.Generation != 0 {
		b = append(b, `,"generation":`...)
		b = strconv.AppendInt(b, s.Generation, 10)
	}
	return append(b, '}'), ok
}

// appendEventJSON appends e as json.Marshal encodes it.
func appendEventJSON(b []byte, e Event, c *timeCache) ([]byte, bool) {
	ok := true
	b = append(b, `{"seq":`...)
	b = strconv.AppendUint(b, e.Seq, 10)
	b = append(b, `,"at":`...)
	b, ok = c.appendTime(b, e.At, ok)
	if e.Service != "" {
		b = append(b, `,"service":`...)
		b, ok = appendPlainString(b, e.Service, ok)
	}
	b = append(b, `,"type":`...)
	b, ok = appendPlainString(b, e.Type, ok)
	b = append(b, `,"actor":`...)
	b, ok = appendPlainString(b, e.Actor, ok)
	b = append(b, `,"message":`...)
	b, ok = appendPlainString(b, e.Message, ok)
	if len(e.Fields) > 0 {
		var buf [8]string
		keys := buf[:0]
		for k := range e.Fields {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, `,"fields":{`...)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b, ok = appendPlainString(b, k, ok)
			b = append(b, ':')
			switch v := e.Fields[k].(type) {
			case string:
				b, ok = appendPlainString(b, v, ok)
			case float64:
				b, ok = appendPlainFloat(b, v, ok)
			case int:
				b = strconv.AppendInt(b, int64(v), 10)
			case bool:
				b = strconv.AppendBool(b, v)
			case nil:
				b = append(b, "null"...)
			default:
				ok = false
			}
		}
		b = append(b, '}')
	} else if len(e.RawFields) > 0 {
		b = append(b, `,"fields":`...)
		b = append(b, e.RawFields...)
	}
	return append(b, '}'), ok
}

// AppendRolloutFields appends to buf the fields of a rollout event, from,
// state, to and weight, encoded for Event.RawFields as encoding/json
// encodes them in Fields, and returns buf and them. ok is false when it
// cannot (a value it would have to escape): Fields must hold them then.
func AppendRolloutFields(buf []byte, from, to, state string, weight float64) (out []byte, raw json.RawMessage, ok bool) {
	start := len(buf)
	b, ok := append(buf, `{"from":`...), true
	b, ok = appendPlainString(b, from, ok)
	b = append(b, `,"state":`...)
	b, ok = appendPlainString(b, state, ok)
	b = append(b, `,"to":`...)
	b, ok = appendPlainString(b, to, ok)
	b = append(b, `,"weight":`...)
	b, ok = appendPlainFloat(b, weight, ok)
	b = append(b, '}')
	if !ok {
		return buf, nil, false
	}
	return b, b[start:len(b):len(b)], true
}

// appendPlainString appends s quoted when encoding/json leaves every
// character of it as it is: printable ASCII other than quote, backslash,
// <, > and &, and valid UTF-8 other than U+2028 and U+2029 ("→" in a
// message).
func appendPlainString(b []byte, s string, ok bool) ([]byte, bool) {
	for i := 0; i < len(s); {
		if c := s[i]; plainASCII[c] {
			i++
			continue
		} else if c < utf8.RuneSelf {
			return b, false
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || r == '\u2028' || r == '\u2029' {
			return b, false
		}
		i += n
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"'), ok
}

// plainASCII marks the bytes encoding/json writes as they are.
var plainASCII = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendPlainFloat appends x when encoding/json writes it without an
// exponent: 0, or a magnitude from 1e-6 up to 1e21.
func appendPlainFloat(b []byte, x float64, ok bool) ([]byte, bool) {
	if a := math.Abs(x); a != 0 && (a < 1e-6 || a >= 1e21 || math.IsNaN(x)) {
		return b, false
	}
	return strconv.AppendFloat(b, x, 'f', -1, 64), ok
}

// appendTime appends t quoted, as time.Time's MarshalJSON writes it. Equal
// times (==: the same instant, monotonic reading and location) are written
// alike, so c may give the text of one it formatted before.
func (c *timeCache) appendTime(b []byte, t time.Time, ok bool) ([]byte, bool) {
	if c != nil {
		for i := range c.text {
			if c.text[i] != nil && c.t[i] == t {
				return append(b, c.text[i]...), ok
			}
		}
	}
	start := len(b)
	b = append(b, '"')
	b, err := t.AppendText(b)
	b = append(b, '"')
	if c != nil && err == nil {
		c.t[c.next], c.text[c.next] = t, append(c.text[c.next][:0], b[start:]...)
		c.next = (c.next + 1) % len(c.text)
	}
	return b, ok && err == nil
}
