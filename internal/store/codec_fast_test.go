package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// checkFastJSON fails when a fast encoder accepts a value and writes other
// bytes than encoding/json; it returns whether both were fast.
func checkFastJSON(t *testing.T, s RolloutState, e Event) (bool, bool) {
	t.Helper()
	rs, rok := appendRolloutJSON(nil, s, nil)
	if want, err := json.Marshal(s); rok && (err != nil || string(rs) != string(want)) {
		t.Fatalf("rollout %+v:\nfast %s\njson %s (%v)", s, rs, want, err)
	}
	es, eok := appendEventJSON(nil, e, nil)
	if want, err := json.Marshal(e); eok && (err != nil || string(es) != string(want)) {
		t.Fatalf("event %+v:\nfast %s\njson %s (%v)", e, es, want, err)
	}
	return rok, eok
}

// TestFastJSONMatchesEncodingJSON: the states and events a reload writes
// take the fast path; the fast path writes what encoding/json writes, and
// declines what it does not write alike.
func TestFastJSONMatchesEncodingJSON(t *testing.T) {
	at := time.Date(2026, 11, 21, 7, 1, 2, 345678900, time.UTC)
	s := RolloutState{Service: "svc12", From: "v1", To: "v2", SpecHash: "0123456789abcdef", State: "progressing",
		Weight: 20, Step: -1, WeightSource: "config", Reason: "weight 20 from the configuration file",
		StartedAt: at, StepStartedAt: at.Add(time.Second), UpdatedAt: at.In(time.FixedZone("x", 3600))}
	e := Event{At: at, Service: "svc12", Type: "weight_change", Actor: "config", Message: "weight 20 from the configuration file",
		Fields: map[string]any{"from": "v1", "to": "v2", "weight": 20.0, "state": "progressing", "n": 3, "ok": true, "none": nil}}
	if rok, eok := checkFastJSON(t, s, e); !rok || !eok {
		t.Fatalf("a reload's state and event do not take the fast path (%v, %v)", rok, eok)
	}
	for _, w := range []float64{0, math.Copysign(0, -1), 12.5, 0.0001, 1e-6, 1e-7, 99.99999, 1e20, 1e21, 1.5e300} {
		s.Weight, e.Fields["weight"] = w, w
		checkFastJSON(t, s, e)
	}
	s.Weight, e.Fields["weight"] = 20.0, 20.0
	for _, g := range []int64{1, 42, -3} { // a fleet's generation
		s.Generation = g
		if rok, _ := checkFastJSON(t, s, e); !rok {
			t.Fatalf("a fleet's state of generation %d does not take the fast path", g)
		}
	}
	s.Generation = 0
	for _, str := range []string{"", "plain", "quote\"", "back\\slash", "<b>&", "tab\t", "é", "→", "\u2028", "\u2029", "\xff", "a\xe2\x86", "\x7f"} {
		s.Reason, e.Message, e.Fields["from"] = str, str, str
		rok, eok := checkFastJSON(t, s, e)
		if plain := !strings.ContainsAny(str, "\"\\<>&\t\u2028\u2029") && utf8.ValidString(str); rok != plain || eok != plain {
			t.Errorf("%q: fast %v/%v, want %v", str, rok, eok, plain)
		}
	}
	s.Reason, e.Message, e.Fields["from"] = "r", "m", "v1"
	for _, tm := range []time.Time{{}, time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), at.In(time.FixedZone("odd", 3601))} {
		s.StartedAt, e.At = tm, tm
		checkFastJSON(t, s, e)
	}
	e.Fields = map[string]any{"x": []int{1}}
	if _, eok := checkFastJSON(t, s, e); eok {
		t.Error("a field of another type took the fast path")
	}
	e.Fields, e.Service = nil, ""
	checkFastJSON(t, s, e)
	s.LastAnalysis = json.RawMessage(`{"ok": true}`)
	if rok, _ := checkFastJSON(t, s, e); rok {
		t.Error("a state with last_analysis took the fast path")
	}
}

// FuzzFastJSON holds the fast encoders to encoding/json's bytes on
// arbitrary strings, numbers and times.
func FuzzFastJSON(f *testing.F) {
	f.Add("svc", "weight 20", 20.0, int64(1700000000), 5, "k")
	f.Fuzz(func(t *testing.T, a, b string, w float64, sec int64, step int, key string) {
		tm := time.Unix(sec, int64(step)).UTC()
		s := RolloutState{Service: a, From: b, To: key, SpecHash: a, State: b, Weight: w, Step: step, WeightSource: key,
			Reason: b, StartedAt: tm, StepStartedAt: tm, UpdatedAt: tm, Generation: int64(step)}
		e := Event{Seq: uint64(step), At: tm, Service: a, Type: b, Actor: key, Message: a,
			Fields: map[string]any{key: w, a: b, "n": step}}
		checkFastJSON(t, s, e)
	})
}

// TestBatchEncodingMatchesSingle: a batch's records, encoded together
// with their times remembered, are the bytes each encodes to alone, across
// times that are the same instant in other locations or monotonic readings.
func TestBatchEncodingMatchesSingle(t *testing.T) {
	at := time.Date(2026, 11, 21, 7, 1, 2, 345678900, time.UTC)
	times := []time.Time{at, at.In(time.FixedZone("x", 3600)), at, time.Now(), at.Add(time.Nanosecond), at.Local(), {}}
	var b Batch
	for i, tm := range times {
		for j, tm2 := range times {
			svc := fmt.Sprintf("s%d-%d", i, j)
			b.Rollouts = append(b.Rollouts, RolloutState{Service: svc, State: StateProgressing, Weight: float64(i), Step: -1,
				Reason: "r → é", StartedAt: tm, StepStartedAt: tm2, UpdatedAt: tm})
			b.Events = append(b.Events, Event{At: tm2, Service: svc, Type: "weight_change", Message: "rollout v1 → v2",
				Fields: map[string]any{"weight": float64(j), "from": "v1"}})
		}
	}
	enc, err := encodeBatch(b, func() time.Time { return at })
	if err != nil {
		t.Fatal(err)
	}
	for i, st := range b.Rollouts {
		if st.UpdatedAt.IsZero() {
			st.UpdatedAt = at
		}
		want, err := encodeRolloutChecked(st)
		if err != nil || string(enc.rollouts[i]) != string(want) {
			t.Fatalf("rollout %d:\nbatch %s\nalone %s (%v)", i, enc.rollouts[i], want, err)
		}
	}
	for i, e := range b.Events {
		if e.At.IsZero() {
			e.At = at
		}
		js, err := encodeEventJSON(e)
		if want := packEvent(e.Service, js); err != nil || string(enc.events[i]) != string(want) {
			t.Fatalf("event %d:\nbatch %q\nalone %q (%v)", i, enc.events[i], want, err)
		}
	}
}

// TestRawFields: an event whose fields come encoded (AppendRolloutFields)
// is stored as the same event with the fields in a map, and reads back
// with them in Fields; fields that are not a JSON object are refused, and
// values that would need escaping are left to the map.
func TestRawFields(t *testing.T) {
	at := time.Date(2026, 11, 21, 7, 1, 2, 0, time.UTC)
	buf, raw, ok := AppendRolloutFields([]byte("x"), "v1", "v2", "progressing", 12.5)
	if !ok || string(buf) != `x`+string(raw) {
		t.Fatalf("AppendRolloutFields: %q %q %v", buf, raw, ok)
	}
	asMap := Event{At: at, Service: "s", Type: "weight_change", Actor: "config", Message: "weight 12.5 → m",
		Fields: map[string]any{"from": "v1", "to": "v2", "state": "progressing", "weight": 12.5}}
	asRaw := asMap
	asRaw.Fields, asRaw.RawFields = nil, raw
	want, err := encodeEventJSON(asMap)
	if err != nil {
		t.Fatal(err)
	}
	for _, msg := range []string{asMap.Message, "needs <escaping>"} { // the fast path and encoding/json
		asMap.Message, asRaw.Message = msg, msg
		want, _ = encodeEventJSON(asMap)
		if got, err := encodeEventJSON(asRaw); err != nil || string(got) != string(want) {
			t.Fatalf("raw fields encode to\n%s (%v), the map to\n%s", got, err, want)
		}
	}
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			s := im.open(t)
			if _, err := s.Write(Batch{Events: []Event{asRaw}}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Append(asRaw); err != nil {
				t.Fatal(err)
			}
			evs, err := s.Events(EventQuery{})
			if err != nil || len(evs) != 2 {
				t.Fatalf("events %+v, %v", evs, err)
			}
			for _, ev := range evs {
				if !reflect.DeepEqual(ev.Fields, asMap.Fields) || ev.RawFields != nil {
					t.Errorf("read back fields %v (raw %q), want %v", ev.Fields, ev.RawFields, asMap.Fields)
				}
			}
			for _, bad := range []string{`[1]`, `{"a":`, ` {}`, `"x"`} {
				ev := asRaw
				ev.RawFields = json.RawMessage(bad)
				if _, err := s.Append(ev); !errors.Is(err, ErrInvalid) {
					t.Errorf("raw fields %q: %v, want ErrInvalid", bad, err)
				}
			}
		})
	}
	if b, raw, ok := AppendRolloutFields([]byte("x"), "v\"1", "v2", "progressing", 1); ok || raw != nil || string(b) != "x" {
		t.Errorf("a value to escape: %q %q %v", b, raw, ok)
	}
}
