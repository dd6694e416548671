package qn

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

// randomV1 builds a random valid v1 frame: any type, sequence and fields.
func randomV1(rng *rand.Rand) []byte {
	var b Builder
	b.Reset(nil, Header{Version: V1, Type: Type(1 + rng.IntN(5)), Seq: uint32(rng.IntN(65536))})
	for range rng.IntN(20) {
		v := make([]byte, rng.IntN(256))
		for i := range v {
			v[i] = byte(rng.Uint32())
		}
		b.Add(Field{0, uint16(rng.IntN(256)), 1, v})
	}
	raw, err := b.Finish()
	if err != nil {
		panic(err)
	}
	return raw
}

// TestV1V2V1Identity: a v1 frame translated to v2 and back is the same bytes,
// with nothing reported lost, and its v2 form carries every field as
// (ns 0, id, fver 1).
func TestV1V2V1Identity(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var loss Loss
	var up, down []byte
	for i := range 2000 {
		raw := randomV1(rng)
		f1, _, err := Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		up, err = ToV2(up[:0], &f1)
		if err != nil {
			t.Fatal(err)
		}
		f2, _, err := Parse(up)
		if err != nil || f2.Type != f1.Type || f2.Seq != f1.Seq || f2.Flags != 0 || !fieldsEqual(collect(&f2), collect(&f1)) {
			t.Fatalf("frame %d: v2 form %+v %v", i, f2.Header, err)
		}
		loss.Reset()
		down, err = ToV1(down[:0], &f2, Default(), &loss)
		if err != nil || !bytes.Equal(down, raw) || len(loss.Dropped) != 0 || loss.Flags != 0 {
			t.Fatalf("frame %d: v1 → v2 → v1 differs (%v, %+v)\n got % x\nwant % x", i, err, loss, down, raw)
		}
	}
}

func TestToV1Loss(t *testing.T) {
	f, _, _ := Parse(vector(t, "v2_data_mixed"))
	loss := Loss{Dropped: []Drop{{NS: 9}}} // entries from an earlier frame stay
	if _, err := ToV1(nil, &f, nil, &loss); err != nil {
		t.Fatal(err)
	}
	if len(loss.Dropped) != 5 || loss.Count(0, 4) != 1 || loss.Count(1, 1) != 1 || loss.Count(0, 1) != 0 || loss.Count(9, 0) != 1 {
		t.Fatalf("loss %+v", loss)
	}
	// A nil Loss is allowed.
	if out, err := ToV1(nil, &f, nil, nil); err != nil || len(out) != 6+4+4 {
		t.Fatalf("%v % x", err, out)
	}
	// Repeated drops of one field are counted each.
	raw, _ := Encode(nil, Header{Version: V2, Type: TypeData}, []Field{{1, 7, 1, nil}, {0, 1, 1, []byte("a")}, {1, 7, 1, nil}})
	f, _, _ = Parse(raw)
	loss.Reset()
	if _, err := ToV1(nil, &f, nil, &loss); err != nil || loss.Count(1, 7) != 2 {
		t.Fatalf("%v %+v", err, loss)
	}
}

func TestToV1Refusals(t *testing.T) {
	reg, _ := NewRegistry(append(CoreFields(), FieldDef{NS: 1, ID: 1, Name: "auth_token", Type: Bytes, Version: 1, RequiredDowngrade: true},
		FieldDef{NS: 0, ID: 300, Name: "wide", Type: String, Version: 1})...)
	big := make([]Field, 300) // 300 × 257 v1 bytes > 65,535
	for i := range big {
		big[i] = Field{0, 4, 1, make([]byte, 255)}
	}
	for _, tc := range []struct {
		name   string
		h      Header
		fields []Field
		reason RefusalReason
	}{
		{"required field in another namespace", Header{V2, TypeData, 0, 1}, []Field{{0, 1, 1, []byte("d")}, {1, 1, 1, []byte("t")}}, RefuseRequired},
		{"sequence 65536", Header{V2, TypeAck, 0, 65536}, nil, RefuseSeq},
		{"ERROR", Header{V2, TypeError, 0, 1}, nil, RefuseType},
		{"v1 payload over 65535", Header{V2, TypeData, 0, 1}, big, RefuseSize},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := Encode(nil, tc.h, tc.fields)
			if err != nil {
				t.Fatal(err)
			}
			f, _, _ := Parse(raw)
			loss := Loss{Dropped: make([]Drop, 1, 8)}
			out, err := ToV1([]byte("dst"), &f, reg, &loss)
			var re *RefusedError
			if !errors.As(err, &re) || !errors.Is(err, ErrRefused) || re.Reason != tc.reason || re.Seq != tc.h.Seq {
				t.Fatalf("ToV1: %v, want refusal %v", err, tc.reason)
			}
			if string(out) != "dst" || len(loss.Dropped) != 1 || loss.Flags != 0 {
				t.Fatalf("a refusal changed dst %q or loss %+v", out, loss)
			}
		})
	}
	// Not required: the same frame loses the field and goes through.
	raw, _ := Encode(nil, Header{Version: V2, Type: TypeData, Seq: 1}, []Field{{1, 2, 1, []byte("t")}, {0, 300, 1, []byte("w")}})
	f, _, _ := Parse(raw)
	var loss Loss
	if _, err := ToV1(nil, &f, reg, &loss); err != nil || len(loss.Dropped) != 2 {
		t.Fatalf("%v %+v", err, loss)
	}
	_, err := ToV1(nil, &Frame{Header: Header{Version: V2, Type: TypeData}}, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	var re *RefusedError
	f, _, _ = Parse(mustEncode(t, Header{Version: V2, Type: TypeData}, []Field{{1, 1, 1, nil}}))
	if _, err := ToV1(nil, &f, reg, nil); !errors.As(err, &re) || re.Name != "auth_token" || re.Field.Reason != DropNamespace {
		t.Fatalf("%v", err)
	} else if got := err.Error(); got != `qn: translation refused (required_field) for seq 0: required_downgrade field "auth_token" would be dropped (namespace)` {
		t.Errorf("%q", got)
	}
}

func mustEncode(t testing.TB, h Header, fields []Field) []byte {
	t.Helper()
	raw, err := Encode(nil, h, fields)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestTranslateSameVersion(t *testing.T) {
	for _, name := range []string{"v1_data_core", "v2_data_mixed"} {
		f, _, _ := Parse(vector(t, name))
		for _, to := range []Version{V1, V2} {
			out, err := Translate(nil, &f, to, nil, nil)
			if to == f.Version && (err != nil || !bytes.Equal(out, f.Raw)) {
				t.Errorf("%s to %v: not unchanged", name, to)
			}
		}
	}
	f, _, _ := Parse(vector(t, "v1_data_core"))
	if _, err := Translate(nil, &f, 3, nil, nil); err == nil {
		t.Error("to v3")
	}
}

func TestTranslateAllocs(t *testing.T) {
	f1, _, _ := Parse(vector(t, "v1_data_core"))
	f2, _, _ := Parse(vector(t, "v2_data_mixed"))
	buf := make([]byte, 0, 1024)
	loss := Loss{Dropped: make([]Drop, 0, 8)}
	allocs := testing.AllocsPerRun(100, func() {
		loss.Reset()
		if _, err := ToV2(buf[:0], &f1); err != nil {
			t.Fatal(err)
		}
		if _, err := ToV1(buf[:0], &f2, Default(), &loss); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per translation pair", allocs)
	}
}
