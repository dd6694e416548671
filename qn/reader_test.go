package qn

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

func TestReaderStream(t *testing.T) {
	var stream []byte
	var want []Header
	for _, tc := range goldenVectors {
		stream = append(stream, vector(t, tc.name)...)
		want = append(want, tc.h)
	}
	for name, src := range map[string]io.Reader{
		"whole":    bytes.NewReader(stream),
		"one byte": iotest.OneByteReader(bytes.NewReader(stream)),
		"half":     iotest.HalfReader(bytes.NewReader(stream)),
	} {
		t.Run(name, func(t *testing.T) {
			r := NewReader(src, Decoder{})
			for i, h := range want {
				f, err := r.Next()
				if err != nil || f.Header != h || f.NumFields != len(goldenVectors[i].fields) {
					t.Fatalf("frame %d: %+v, %v; want %+v", i, f.Header, err, h)
				}
				if !fieldsEqual(collect(&f), goldenVectors[i].fields) {
					t.Fatalf("frame %d fields", i)
				}
			}
			if _, err := r.Next(); err != io.EOF {
				t.Fatalf("after the last frame: %v", err)
			}
		})
	}
}

func TestReaderEnds(t *testing.T) {
	raw := vector(t, "v2_data_core")
	r := NewReader(bytes.NewReader(raw[:len(raw)-2]), Decoder{})
	if _, err := r.Next(); err != io.ErrUnexpectedEOF {
		t.Fatalf("truncated frame: %v", err)
	}
	bad := append(vector(t, "v1_ack_empty"), 7, 7, 7)
	r = NewReader(bytes.NewReader(bad), Decoder{})
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the error sticks
		if _, err := r.Next(); !errors.Is(err, ErrNotQN) {
			t.Fatalf("garbage after a frame: %v", err)
		}
	}
	r = NewReader(iotest.ErrReader(errors.New("reset")), Decoder{})
	if _, err := r.Next(); err == nil || err.Error() != "reset" {
		t.Fatalf("read error: %v", err)
	}
}

// TestReaderBoundedBuffer: a header claiming 16 MiB does not make the reader
// allocate 16 MiB before the bytes arrive.
func TestReaderBoundedBuffer(t *testing.T) {
	claim := []byte{2, 1, 1, 0, 0, 0, 0, 1, 0x01, 0, 0, 0} // 16 MiB payload
	data := append(claim, make([]byte, 10000)...)
	r := NewReader(bytes.NewReader(data), Decoder{})
	if _, err := r.Next(); err != io.ErrUnexpectedEOF {
		t.Fatalf("%v", err)
	}
	if c := cap(r.buf); c > max(readerMinBuf, 2*len(data)) {
		t.Fatalf("buffer of %d bytes for %d bytes of input", c, len(data))
	}
	// A Decoder limit refuses the claim from the header alone.
	r = NewReader(bytes.NewReader(data), Decoder{MaxPayload: 1 << 16})
	if _, err := r.Next(); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("%v", err)
	}
}

type zeroReader struct{}

func (zeroReader) Read([]byte) (int, error) { return 0, nil }

func TestReaderNoProgress(t *testing.T) {
	if _, err := NewReader(zeroReader{}, Decoder{}).Next(); err != io.ErrNoProgress {
		t.Fatalf("%v", err)
	}
}
