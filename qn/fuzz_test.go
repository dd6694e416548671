package qn

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"testing"
)

// Seeds: testdata/fuzz/Fuzz*/ (the golden vectors and broken variants).

func FuzzDecodeV1(f *testing.F) {
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecode(t, data)
		checkDecode(t, fixV1(data))
	})
}

func FuzzDecodeV2(f *testing.F) {
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecode(t, data)
		checkDecode(t, fixV2(data))
	})
}

// FuzzTranslate translates whatever frame the input makes, both ways.
func FuzzTranslate(f *testing.F) {
	reg, err := NewRegistry(append(CoreFields(), FieldDef{NS: 1, ID: 1, Name: "auth_token", Type: Bytes, Version: 1, RequiredDowngrade: true})...)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in := data
		if len(data) > 0 && data[0] == 1 {
			in = fixV1(data[1:])
		} else if len(data) > 0 {
			in = fixV2(data[1:])
		}
		fr, _, err := Parse(in)
		if err != nil {
			return
		}
		checkTranslate(t, &fr, reg)
	})
}

// fixV1 makes data the header fields and payload of a v1 frame with the
// right length, so the fuzzer's bytes reach the field parser.
func fixV1(data []byte) []byte {
	if len(data) < 3 {
		return nil
	}
	p := data[3:min(len(data), 3+MaxPayloadV1)]
	out := []byte{1, data[0], data[1], data[2]}
	out = binary.BigEndian.AppendUint16(out, uint16(len(p)))
	return append(out, p...)
}

// fixV2 does the same for v2 and appends the right checksum.
func fixV2(data []byte) []byte {
	if len(data) < 6 {
		return nil
	}
	out := append([]byte{2, 1}, data[:6]...)
	out = binary.BigEndian.AppendUint32(out, uint32(len(data)-6))
	out = append(out, data[6:]...)
	return binary.BigEndian.AppendUint32(out, crc32.Checksum(out, castagnoli))
}

var sentinels = []error{ErrShort, ErrNotQN, ErrType, ErrFlags, ErrTooLarge, ErrTooManyFields, ErrMalformed, ErrChecksum}

// checkDecode: Parse never panics, fails only with a sentinel, and a frame it
// accepts re-encodes to the same bytes; Reader agrees with Parse and keeps
// its buffer proportional to the input.
func checkDecode(t *testing.T, data []byte) {
	f, n, err := Parse(data)
	if err != nil {
		known := false
		for _, s := range sentinels {
			known = known || errors.Is(err, s)
		}
		if !known || n != 0 {
			t.Fatalf("Parse: %d, %v", n, err)
		}
	} else {
		fields := collect(&f)
		if n > len(data) || len(fields) != f.NumFields {
			t.Fatalf("Parse took %d of %d bytes, %d fields of %d", n, len(data), len(fields), f.NumFields)
		}
		enc, err := Encode(nil, f.Header, fields)
		if err != nil || !bytes.Equal(enc, data[:n]) {
			t.Fatalf("decode ∘ encode: %v\n got % x\nwant % x", err, enc, data[:n])
		}
	}
	if v, serr := Sniff(data); serr == nil && Version(data[0]) != v || errors.Is(serr, ErrNotQN) != errors.Is(err, ErrNotQN) {
		t.Fatalf("Sniff %v, %v; Parse %v", v, serr, err)
	}
	r := NewReader(bytes.NewReader(data), Decoder{})
	first, rerr := r.Next()
	if (rerr == nil) != (err == nil) || err == nil && !bytes.Equal(first.Raw, f.Raw) {
		t.Fatalf("Reader: %v; Parse: %v", rerr, err)
	}
	for rerr == nil {
		_, rerr = r.Next()
	}
	if errors.Is(err, ErrShort) && rerr != io.ErrUnexpectedEOF && rerr != io.EOF {
		t.Fatalf("Reader at a short frame: %v", rerr)
	}
	if c := cap(r.buf); c > max(readerMinBuf, 2*len(data)) {
		t.Fatalf("Reader buffer %d for %d bytes", c, len(data))
	}
}

func checkTranslate(t *testing.T, f *Frame, reg *Registry) {
	in := collect(f)
	up, err := ToV2(nil, f)
	if err != nil || len(up) > 3*len(f.Raw)+16 {
		t.Fatalf("ToV2: %v, %d bytes from %d", err, len(up), len(f.Raw))
	}
	f2, _, err := Parse(up)
	if err != nil || f2.Type != f.Type || f2.Seq != f.Seq || !fieldsEqual(collect(&f2), in) {
		t.Fatalf("ToV2 output: %v", err)
	}
	if f.Version == V1 {
		back, err := ToV1(nil, &f2, reg, nil)
		if err != nil || !bytes.Equal(back, f.Raw) {
			t.Fatalf("v1 → v2 → v1: %v\n got % x\nwant % x", err, back, f.Raw)
		}
		return
	}
	var loss Loss
	down, err := ToV1(nil, f, reg, &loss)
	var kept []Field
	required := false
	for _, fld := range in {
		if dropReason(fld) == 0 {
			kept = append(kept, fld)
		} else if d, ok := reg.LookupID(fld.NS, fld.ID); ok && d.RequiredDowngrade {
			required = true
		}
	}
	if err != nil {
		var re *RefusedError
		if !errors.As(err, &re) || len(loss.Dropped) != 0 || down != nil {
			t.Fatalf("ToV1: %v, loss %+v", err, loss)
		}
		ok := re.Reason == RefuseType && f.Type == TypeError || re.Reason == RefuseSeq && f.Seq > MaxSeqV1 ||
			re.Reason == RefuseRequired && required || re.Reason == RefuseSize
		if !ok {
			t.Fatalf("refused for %v", re.Reason)
		}
		return
	}
	if required || f.Type == TypeError || f.Seq > MaxSeqV1 {
		t.Fatal("ToV1 should have refused")
	}
	f1, _, err := Parse(down)
	if err != nil || f1.Type != f.Type || f1.Seq != f.Seq || !fieldsEqual(collect(&f1), kept) ||
		len(loss.Dropped)+len(kept) != len(in) || loss.Flags != f.Flags {
		t.Fatalf("ToV1 output: %v, %d kept, loss %+v", err, len(kept), loss)
	}
}
