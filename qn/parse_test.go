package qn

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"
)

// TestFrameTypes encodes and parses every frame type of both versions, with
// and without fields.
func TestFrameTypes(t *testing.T) {
	for _, v := range []Version{V1, V2} {
		for typ := TypeData; typ <= TypeError; typ++ {
			for _, fields := range [][]Field{nil, coreFields} {
				h := Header{Version: v, Type: typ, Seq: 513}
				if v == V2 {
					h.Flags, h.Seq = FlagAckRequested, 1<<20
				}
				name := v.String() + "/" + typ.String()
				raw, err := Encode(nil, h, fields)
				if !typ.ValidIn(v) {
					if !errors.Is(err, ErrType) {
						t.Errorf("%s: encode err %v, want ErrType", name, err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				f, n, err := Parse(raw)
				if err != nil || n != len(raw) || f.Header != h || !fieldsEqual(collect(&f), fields) {
					t.Errorf("%s: parse %+v, %d/%d bytes, %v", name, f.Header, n, len(raw), err)
				}
				if typ == TypeData && len(fields) > 0 {
					if fld, ok := f.Get(0, 3); !ok || string(fld.Value) != "temp" {
						t.Errorf("%s: Get(0, 3) = %v, %v", name, fld, ok)
					}
				}
			}
		}
	}
}

// v2frame builds a v2 DATA-like frame from raw header bytes and payload,
// with a correct length and checksum, for frames the Builder refuses to write.
func v2frame(typ, flags byte, payload []byte) []byte {
	b := []byte{2, 1, typ, flags, 0, 0, 0, 1}
	b = binary.BigEndian.AppendUint32(b, uint32(len(payload)))
	b = append(b, payload...)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

func TestParseErrors(t *testing.T) {
	good2 := vector(t, "v2_data_core")
	badCRC := bytes.Clone(good2)
	badCRC[len(badCRC)-1] ^= 1
	flipped := bytes.Clone(good2)
	flipped[14] ^= 0x40 // a payload byte: the checksum catches it
	tooMany := make([]byte, 0, 2*(DefaultMaxFields+1))
	for range DefaultMaxFields + 1 {
		tooMany = append(tooMany, 9, 0)
	}
	tooManyV1 := append([]byte{1, 1, 0, 0, byte(len(tooMany) >> 8), byte(len(tooMany))}, tooMany...)
	for _, tc := range []struct {
		name string
		in   []byte
		want error
		off  int // -2: do not check
	}{
		{"empty", nil, ErrShort, -2},
		{"v2 first byte only", []byte{2}, ErrShort, -2},
		{"v1 short header", []byte{1, 1, 0}, ErrShort, -2},
		{"v2 short header", []byte{2, 1, 1, 0, 0}, ErrShort, -2},
		{"v1 short payload", []byte{1, 1, 0, 0, 0, 3, 1, 1}, ErrShort, -2},
		{"v2 no checksum", good2[:len(good2)-1], ErrShort, -2},
		{"version 0", []byte{0, 1, 0, 0, 0, 0}, ErrNotQN, 0},
		{"version 3", []byte{3}, ErrNotQN, 0},
		{"HTTP", []byte("GET / HTTP/1.1\r\n"), ErrNotQN, 0},
		{"v2 header format 2", []byte{2, 2, 1, 0}, ErrNotQN, 1},
		{"v1 type 0", []byte{1, 0, 0, 0, 0, 0}, ErrType, 1},
		{"v1 ERROR", []byte{1, 6, 0, 0, 0, 0}, ErrType, 1},
		{"v2 type 7", v2frame(7, 0, nil), ErrType, 2},
		{"v2 reserved flag", v2frame(1, 0x04, nil), ErrFlags, 3},
		{"v2 over 16 MiB", []byte{2, 1, 1, 0, 0, 0, 0, 0, 0x01, 0, 0, 1}, ErrTooLarge, 8},
		{"v2 length 2^32-1", []byte{2, 1, 1, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}, ErrTooLarge, 8},
		{"v2 checksum", badCRC, ErrChecksum, len(badCRC) - 4},
		{"v2 flipped payload bit", flipped, ErrChecksum, len(flipped) - 4},
		{"v1 field header cut", []byte{1, 1, 0, 0, 0, 1, 7}, ErrMalformed, 6},
		{"v1 field value cut", []byte{1, 1, 0, 0, 0, 4, 1, 2, 0, 7, 7}[:9], ErrShort, -2},
		{"v1 field past payload", []byte{1, 1, 0, 0, 0, 3, 1, 2, 0}, ErrMalformed, 6},
		{"v2 field header cut", v2frame(1, 0, []byte{0, 0, 1, 1}), ErrMalformed, 12},
		{"v2 field value cut", v2frame(1, 0, []byte{0, 0, 1, 1, 3, 'a'}), ErrMalformed, 12},
		{"v2 varint cut", v2frame(1, 0, []byte{0, 0, 1, 1, 0x80}), ErrMalformed, 12},
		{"v2 varint not minimal", v2frame(1, 0, []byte{0, 0, 1, 1, 0x81, 0x00, 'a'}), ErrMalformed, 12},
		{"v2 varint 5 bytes", v2frame(1, 0, []byte{0, 0, 1, 1, 0x80, 0x80, 0x80, 0x80, 0x01}), ErrMalformed, 12},
		{"v2 second field bad", v2frame(1, 0, []byte{0, 0, 1, 1, 1, 'a', 0, 0, 2, 1, 5}), ErrMalformed, 18},
		{"v1 too many fields", tooManyV1, ErrTooManyFields, 6 + 2*DefaultMaxFields},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, n, err := Parse(tc.in)
			if !errors.Is(err, tc.want) || n != 0 || f.Raw != nil {
				t.Fatalf("Parse = %d bytes, %v; want %v", n, err, tc.want)
			}
			var e *Error
			if tc.off != -2 && (!errors.As(err, &e) || e.Offset != tc.off) {
				t.Fatalf("%v: want offset %d", err, tc.off)
			}
		})
	}
}

func TestDecoderLimits(t *testing.T) {
	raw := vector(t, "v2_data_core") // 4 fields, payload 40 bytes
	if _, _, err := (Decoder{MaxFields: 3}).Parse(raw); !errors.Is(err, ErrTooManyFields) {
		t.Errorf("MaxFields 3: %v", err)
	}
	if _, _, err := (Decoder{MaxFields: 4}).Parse(raw); err != nil {
		t.Errorf("MaxFields 4: %v", err)
	}
	if _, err := (Decoder{MaxPayload: 39}).FrameLen(raw); !errors.Is(err, ErrTooLarge) {
		t.Errorf("MaxPayload 39: %v", err)
	}
	if n, err := (Decoder{MaxPayload: 40}).FrameLen(raw[:12]); err != nil || n != len(raw) {
		t.Errorf("FrameLen of the header alone = %d, %v; want %d", n, err, len(raw))
	}
	// A MaxPayload above the protocol's is the protocol's.
	big := []byte{1, 1, 0, 0, 0xff, 0xff}
	if n, err := (Decoder{MaxPayload: 1 << 30}).FrameLen(big); err != nil || n != 6+65535 {
		t.Errorf("v1 65535: %d, %v", n, err)
	}
	if _, err := (Decoder{}).FrameLen([]byte{2, 1, 1, 0, 0, 0, 0, 0, 0x01, 0, 0, 0}); err != nil {
		t.Errorf("v2 exactly 16 MiB refused: %v", err)
	}
}

func TestSniff(t *testing.T) {
	for _, tc := range []struct {
		in   []byte
		want Version
		err  error
	}{
		{nil, 0, ErrShort},
		{[]byte{1}, V1, nil},
		{[]byte{1, 0xff}, V1, nil},
		{[]byte{2}, 0, ErrShort},
		{[]byte{2, 1}, V2, nil},
		{[]byte{2, 0}, 0, ErrNotQN},
		{[]byte{0x16, 3, 1}, 0, ErrNotQN}, // a TLS ClientHello
		{[]byte("PRI * HTTP/2.0"), 0, ErrNotQN},
	} {
		v, err := Sniff(tc.in)
		if v != tc.want || !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
			t.Errorf("Sniff(% x) = %v, %v; want %v, %v", tc.in, v, err, tc.want, tc.err)
		}
	}
}

// TestParseAllocs: parsing and walking every field allocate nothing.
func TestParseAllocs(t *testing.T) {
	for _, name := range []string{"v1_data_core", "v2_data_mixed"} {
		raw := vector(t, name)
		allocs := testing.AllocsPerRun(100, func() {
			f, _, err := Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for it := f.Fields(); it.Next(); {
				n += len(it.Field().Value)
			}
			if _, ok := f.Get(0, 5); !ok || n == 0 {
				t.Fatal("fields")
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per parse", name, allocs)
		}
	}
}

func TestHandBuiltFrameIteration(t *testing.T) {
	// A Frame made by hand from unchecked bytes stops at the bad field.
	f := Frame{Header: Header{Version: V2}, Payload: []byte{0, 0, 1, 1, 1, 'a', 0, 0, 2, 1, 9}}
	it := f.Fields()
	if !it.Next() || it.Next() || !errors.Is(it.Err(), ErrMalformed) {
		t.Fatalf("iteration over a bad payload: %v", it.Err())
	}
	f = Frame{Header: Header{Version: 9}, Payload: []byte{1, 2, 3}}
	if it := f.Fields(); it.Next() || !errors.Is(it.Err(), ErrNotQN) {
		t.Fatal("version 9 iterated")
	}
}

func TestValueAccessors(t *testing.T) {
	for _, tc := range []struct {
		v   []byte
		u   uint64
		uok bool
		i   int64
		iok bool
		b   bool
		bok bool
	}{
		{[]byte{7}, 7, true, 0, false, false, false},
		{[]byte{1}, 1, true, 0, false, true, true},
		{[]byte{0}, 0, true, 0, false, false, true},
		{[]byte{1, 2}, 0x102, true, 0, false, false, false},
		{[]byte{1, 2, 3}, 0, false, 0, false, false, false},
		{[]byte{0, 0, 1, 0}, 256, true, 0, false, false, false},
		{be64(1 << 63), 1 << 63, true, -1 << 63, true, false, false},
		{nil, 0, false, 0, false, false, false},
	} {
		f := Field{Value: tc.v}
		u, uok := f.Uint()
		i, iok := f.Int()
		b, bok := f.Bool()
		if u != tc.u || uok != tc.uok || i != tc.i || iok != tc.iok || b != tc.b || bok != tc.bok {
			t.Errorf("% x: Uint %d %v, Int %d %v, Bool %v %v", tc.v, u, uok, i, iok, b, bok)
		}
	}
}
