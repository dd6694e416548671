package qn

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestBuilderErrors(t *testing.T) {
	long := make([]byte, 256)
	for _, tc := range []struct {
		name string
		h    Header
		add  func(*Builder)
		want error
	}{
		{"version 3", Header{Version: 3, Type: TypeData}, nil, ErrNotQN},
		{"v1 ERROR", Header{Version: V1, Type: TypeError}, nil, ErrType},
		{"v2 type 0", Header{Version: V2}, nil, ErrType},
		{"v1 flags", Header{Version: V1, Type: TypeData, Flags: FlagAckRequested}, nil, ErrFlags},
		{"v2 reserved flags", Header{Version: V2, Type: TypeData, Flags: 0x80}, nil, ErrFlags},
		{"v1 seq 65536", Header{Version: V1, Type: TypeData, Seq: 65536}, nil, ErrSeq},
		{"v1 namespace 1", Header{Version: V1, Type: TypeData}, func(b *Builder) { b.AddString(1, 1, 1, "x") }, ErrField},
		{"v1 fver 2", Header{Version: V1, Type: TypeData}, func(b *Builder) { b.AddString(0, 1, 2, "x") }, ErrField},
		{"v1 id 256", Header{Version: V1, Type: TypeData}, func(b *Builder) { b.AddString(0, 256, 1, "x") }, ErrField},
		{"v1 value 256 bytes", Header{Version: V1, Type: TypeData}, func(b *Builder) { b.Add(Field{0, 4, 1, long}) }, ErrField},
		{"v1 payload over 65535", Header{Version: V1, Type: TypeData}, func(b *Builder) {
			for range 256 {
				b.Add(Field{0, 4, 1, long[:255]})
			}
		}, ErrTooLarge},
		{"u16 overflow", Header{Version: V2, Type: TypeData}, func(b *Builder) { b.AddUint(0, 5, 1, 2, 70000) }, ErrValue},
		{"width 3", Header{Version: V2, Type: TypeData}, func(b *Builder) { b.AddUint(0, 5, 1, 3, 1) }, ErrValue},
		{"first error kept", Header{Version: V1, Type: TypeData}, func(b *Builder) {
			b.AddString(2, 1, 1, "x")
			b.AddUint(0, 5, 1, 3, 1)
		}, ErrField},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b Builder
			dst := []byte("keep")
			b.Reset(dst, tc.h)
			if tc.add != nil {
				tc.add(&b)
			}
			out, err := b.Finish()
			if !errors.Is(err, tc.want) || string(out) != "keep" {
				t.Fatalf("Finish = %q, %v; want dst unchanged and %v", out, err, tc.want)
			}
		})
	}
}

func TestBuilderAppendsAndLimits(t *testing.T) {
	// Frames append one after another; each parses.
	var b Builder
	var buf []byte
	for i := range 3 {
		b.Reset(buf, Header{Version: Version(1 + i%2), Type: TypeData, Seq: uint32(i)})
		b.AddString(0, 1, 1, "dev")
		b.AddUint(0, 2, 1, 8, ts)
		b.AddUint(0, 5, 1, 2, 65535)
		var err error
		if buf, err = b.Finish(); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		f, n, err := Parse(buf)
		if err != nil || f.Seq != uint32(i) || f.NumFields != 3 {
			t.Fatalf("frame %d: %+v %v", i, f.Header, err)
		}
		if fld, _ := f.Get(0, 5); !bytes.Equal(fld.Value, []byte{0xff, 0xff}) {
			t.Fatalf("status % x", fld.Value)
		}
		buf = buf[n:]
	}
	// The largest frames each version allows.
	v1max := make([]Field, 0, 255)
	for range 255 { // 255 × (2 + 255) = 65,535
		v1max = append(v1max, Field{0, 4, 1, make([]byte, 255)})
	}
	raw, err := Encode(nil, Header{Version: V1, Type: TypeData}, v1max)
	if err != nil || len(raw) != 6+65535 {
		t.Fatalf("v1 max payload: %d bytes, %v", len(raw), err)
	}
	if _, _, err := Parse(raw); err != nil {
		t.Fatal(err)
	}
	// v2: one field of 16 MiB − 8 header bytes − 4 varint bytes.
	big := Field{0, 4, 1, make([]byte, MaxPayloadV2-8)}
	if raw, err = Encode(nil, Header{Version: V2, Type: TypeData}, []Field{big}); err != nil || len(raw) != 12+MaxPayloadV2+4 {
		t.Fatalf("v2 max payload: %d bytes, %v", len(raw), err)
	}
	if _, _, err := Parse(raw); err != nil {
		t.Fatal(err)
	}
	big.Value = append(big.Value, 0)
	if _, err := Encode(nil, Header{Version: V2, Type: TypeData}, []Field{big}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("v2 over 16 MiB: %v", err)
	}
}

func TestEncodeAllocs(t *testing.T) {
	buf := make([]byte, 0, 1024)
	for _, v := range []Version{V1, V2} {
		allocs := testing.AllocsPerRun(100, func() {
			var b Builder
			b.Reset(buf[:0], Header{Version: v, Type: TypeData, Seq: 1})
			b.AddString(0, 1, 1, "dev-42")
			b.AddUint(0, 2, 1, 8, ts)
			b.Add(Field{0, 4, 1, []byte{1, 2, 3}})
			if _, err := b.Finish(); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%v: %v allocations per frame", v, allocs)
		}
	}
}

func TestErrorText(t *testing.T) {
	_, _, err := Parse([]byte{2, 1, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	if got := err.Error(); got != "qn: unknown frame type at offset 2: v2 type 0x09" {
		t.Errorf("%q", got)
	}
	_, err = Encode(nil, Header{Version: V1, Type: TypeData}, []Field{{1, 1, 1, nil}})
	if !strings.Contains(err.Error(), "v1 cannot carry field (ns 1, id 1, fver 1) of 0 bytes") {
		t.Errorf("%q", err)
	}
}
