package qn

import (
	"fmt"
	"testing"
)

// benchSizes are the frame sizes of the benchmarks: a telemetry reading, a
// batch, and a frame near v1's 64 KiB limit (v2 uses the same fields).
var benchSizes = []struct {
	name    string
	fields  int
	valueSz int
}{
	{"small", 4, 8},     // ~50 bytes
	{"medium", 32, 32},  // ~1 KiB
	{"large", 240, 255}, // ~60 KiB
}

func benchFields(n, size int) []Field {
	fields := make([]Field, n)
	for i := range fields {
		v := make([]byte, size)
		for j := range v {
			v[j] = byte(i + j)
		}
		fields[i] = Field{0, uint16(1 + i%255), 1, v}
	}
	return fields
}

func benchFrame(b *testing.B, v Version, n, size int) []byte {
	raw, err := Encode(nil, Header{Version: v, Type: TypeData, Seq: 42}, benchFields(n, size))
	if err != nil {
		b.Fatal(err)
	}
	return raw
}

// BenchmarkDecode parses a frame and reads every field.
func BenchmarkDecode(b *testing.B) {
	for _, v := range []Version{V1, V2} {
		for _, s := range benchSizes {
			raw := benchFrame(b, v, s.fields, s.valueSz)
			b.Run(fmt.Sprintf("%v/%s", v, s.name), func(b *testing.B) {
				b.SetBytes(int64(len(raw)))
				b.ReportAllocs()
				for b.Loop() {
					f, _, err := Parse(raw)
					if err != nil {
						b.Fatal(err)
					}
					n := 0
					for it := f.Fields(); it.Next(); {
						n += len(it.Field().Value)
					}
					if n == 0 {
						b.Fatal("no fields")
					}
				}
			})
		}
	}
}

// BenchmarkEncode writes a frame into a reused buffer.
func BenchmarkEncode(b *testing.B) {
	for _, v := range []Version{V1, V2} {
		for _, s := range benchSizes {
			fields := benchFields(s.fields, s.valueSz)
			buf := benchFrame(b, v, s.fields, s.valueSz)
			b.Run(fmt.Sprintf("%v/%s", v, s.name), func(b *testing.B) {
				b.SetBytes(int64(len(buf)))
				b.ReportAllocs()
				for b.Loop() {
					var err error
					if buf, err = Encode(buf[:0], Header{Version: v, Type: TypeData, Seq: 42}, fields); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkTranslate parses a frame and writes it in the other version, as
// the gateway does for every translated frame.
func BenchmarkTranslate(b *testing.B) {
	for _, s := range benchSizes {
		for _, from := range []Version{V1, V2} {
			raw := benchFrame(b, from, s.fields, s.valueSz)
			if from == V2 { // one field v1 cannot carry, so ToV1 records a loss
				raw, _ = Encode(nil, Header{Version: V2, Type: TypeData, Seq: 42}, append(benchFields(s.fields, s.valueSz), Field{2, 1, 1, make([]byte, 16)}))
			}
			b.Run(fmt.Sprintf("%vto%v/%s", from, 3-from, s.name), func(b *testing.B) {
				out := make([]byte, 0, 2*len(raw))
				var loss Loss
				b.SetBytes(int64(len(raw)))
				b.ReportAllocs()
				for b.Loop() {
					f, _, err := Parse(raw)
					if err != nil {
						b.Fatal(err)
					}
					loss.Reset()
					if out, err = Translate(out[:0], &f, 3-from, Default(), &loss); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkRegistryLookupID is the per-field cost of naming a field.
func BenchmarkRegistryLookupID(b *testing.B) {
	r := Default()
	b.ReportAllocs()
	for b.Loop() {
		if !r.IsRegistered(0, 5) {
			b.Fatal("status")
		}
	}
}
