package qn

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// vector reads testdata/vectors/NAME.hex: hand-annotated frames written from
// QN.md's tables, v2 checksums computed by a bitwise CRC-32C, not this package.
func vector(t testing.TB, name string) []byte {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "vectors", name+".hex"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := ReadHex(f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return b
}

func be16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
func be64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }
func seqBytes(from, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(from + i)
	}
	return b
}

const ts = 1700000000000

var coreFields = []Field{
	{0, 1, 1, []byte("dev-42")},
	{0, 2, 1, be64(ts)},
	{0, 3, 1, []byte("temp")},
	{0, 5, 1, be16(200)},
}

var mixedFields = []Field{
	{0, 1, 1, []byte("d1")},
	{1, 1, 1, []byte("tok")},
	{0, 2, 2, be64(ts)},
	{0, 300, 1, []byte("x")},
	{0, 4, 1, seqBytes(0, 300)},
	{0, 5, 1, be16(1)},
}

var goldenVectors = []struct {
	name   string
	h      Header
	fields []Field
}{
	{"v1_data_core", Header{V1, TypeData, 0, 258}, coreFields},
	{"v1_ack_empty", Header{V1, TypeAck, 0, 258}, nil},
	{"v1_ping_max_seq", Header{V1, TypePing, 0, 65535}, nil},
	{"v1_unknown", Header{V1, TypeData, 0, 7}, []Field{{0, 1, 1, []byte("d7")}, {0, 200, 1, []byte("abc")}, {0, 4, 1, seqBytes(0, 255)}}},
	{"v1_data_mixed_down", Header{V1, TypeData, 0, 9}, []Field{{0, 1, 1, []byte("d1")}, {0, 5, 1, be16(1)}}},
	{"v2_data_core", Header{V2, TypeData, 0, 258}, coreFields},
	{"v2_data_mixed", Header{V2, TypeData, FlagAckRequested, 9}, mixedFields},
	{"v2_error", Header{V2, TypeError, 0, 1}, []Field{{0, 3, 1, []byte("overload")}}},
	{"v2_pong_qos2", Header{V2, TypePong, FlagAckRequested | FlagExactlyOnce, 70000}, nil},
}

func collect(f *Frame) []Field {
	var out []Field
	for it := f.Fields(); it.Next(); {
		out = append(out, it.Field())
	}
	return out
}

func fieldsEqual(a, b []Field) bool {
	return slices.EqualFunc(a, b, func(x, y Field) bool {
		return x.NS == y.NS && x.ID == y.ID && x.Ver == y.Ver && bytes.Equal(x.Value, y.Value)
	})
}

// TestGoldenVectors decodes every vector to the header and fields its
// annotations state, and encodes those back to the same bytes.
func TestGoldenVectors(t *testing.T) {
	for _, tc := range goldenVectors {
		t.Run(tc.name, func(t *testing.T) {
			raw := vector(t, tc.name)
			f, n, err := Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			if n != len(raw) || f.Header != tc.h || f.NumFields != len(tc.fields) {
				t.Fatalf("parsed %+v (%d fields, %d of %d bytes), want %+v (%d fields)", f.Header, f.NumFields, n, len(raw), tc.h, len(tc.fields))
			}
			if got := collect(&f); !fieldsEqual(got, tc.fields) {
				t.Fatalf("fields\n got %v\nwant %v", got, tc.fields)
			}
			enc, err := Encode(nil, tc.h, tc.fields)
			if err != nil || !bytes.Equal(enc, raw) {
				t.Fatalf("encode: %v\n got % x\nwant % x", err, enc, raw)
			}
			if tc.h.Version == V2 {
				body := raw[:len(raw)-4]
				if got, want := bitwiseCRC32C(body), binary.BigEndian.Uint32(raw[len(body):]); got != want {
					t.Fatalf("bitwise CRC-32C 0x%08x, frame has 0x%08x", got, want)
				}
			}
		})
	}
}

// bitwiseCRC32C is CRC-32C the slow way, independent of hash/crc32.
func bitwiseCRC32C(b []byte) uint32 {
	crc := ^uint32(0)
	for _, c := range b {
		crc ^= uint32(c)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0x82F63B78
			} else {
				crc >>= 1
			}
		}
	}
	return ^crc
}

func TestCRC32CCheckValue(t *testing.T) {
	// The standard check value of CRC-32C over "123456789".
	if got := bitwiseCRC32C([]byte("123456789")); got != 0xE3069283 {
		t.Fatalf("bitwise 0x%08x", got)
	}
	var b Builder
	b.Reset(nil, Header{Version: V2, Type: TypePing})
	frame, _ := b.Finish()
	if got, want := binary.BigEndian.Uint32(frame[12:]), bitwiseCRC32C(frame[:12]); got != want {
		t.Fatalf("frame CRC 0x%08x, bitwise 0x%08x", got, want)
	}
}

// TestGoldenTranslation: the vectors related by translation translate into
// one another byte for byte.
func TestGoldenTranslation(t *testing.T) {
	parse := func(name string) Frame {
		f, _, err := Parse(vector(t, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return f
	}
	v1core, v2core := parse("v1_data_core"), parse("v2_data_core")
	if got, _ := ToV2(nil, &v1core); !bytes.Equal(got, v2core.Raw) {
		t.Errorf("ToV2(v1_data_core)\n got % x\nwant % x", got, v2core.Raw)
	}
	var loss Loss
	if got, err := ToV1(nil, &v2core, Default(), &loss); err != nil || !bytes.Equal(got, v1core.Raw) || len(loss.Dropped) != 0 {
		t.Errorf("ToV1(v2_data_core): %v %v\n got % x\nwant % x", err, loss, got, v1core.Raw)
	}
	mixed, down := parse("v2_data_mixed"), parse("v1_data_mixed_down")
	got, err := ToV1(nil, &mixed, Default(), &loss)
	if err != nil || !bytes.Equal(got, down.Raw) {
		t.Fatalf("ToV1(v2_data_mixed): %v\n got % x\nwant % x", err, got, down.Raw)
	}
	want := []Drop{{1, 1, 1, 3, DropNamespace}, {0, 2, 2, 8, DropFieldVersion}, {0, 300, 1, 1, DropID}, {0, 4, 1, 300, DropTooLong}}
	if !slices.Equal(loss.Dropped, want) || loss.Flags != FlagAckRequested {
		t.Errorf("loss %+v, want %+v and flags ack_requested", loss, want)
	}
	for _, name := range []string{"v2_error", "v2_pong_qos2"} {
		f := parse(name)
		if _, err := ToV1(nil, &f, nil, nil); !errors.Is(err, ErrRefused) {
			t.Errorf("ToV1(%s): %v, want refused", name, err)
		}
	}
}
