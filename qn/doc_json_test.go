package qn

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// TestDocRoundTrip: every vector → FrameDoc → JSON → FrameDoc → the same bytes.
func TestDocRoundTrip(t *testing.T) {
	for _, tc := range goldenVectors {
		raw := vector(t, tc.name)
		f, _, err := Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		js, err := json.Marshal(Default().Doc(&f))
		if err != nil {
			t.Fatal(err)
		}
		var d FrameDoc
		if err := json.Unmarshal(js, &d); err != nil {
			t.Fatal(err)
		}
		out, err := Default().EncodeDoc(nil, d)
		if err != nil || string(out) != string(raw) {
			t.Errorf("%s: %v\n%s\n got % x\nwant % x", tc.name, err, js, out, raw)
		}
	}
}

func TestDocValues(t *testing.T) {
	r := protoTestRegistry(t)
	raw := mustEncode(t, Header{Version: V2, Type: TypeData, Flags: FlagExactlyOnce, Seq: 3}, []Field{
		{0, 1, 1, []byte("a\"<b>")},
		{0, 5, 1, be16(503)},
		{0, 6, 1, []byte{99}},
		{3, 0, 1, []byte{1}},
		{0, 19001, 1, be64(^uint64(0))},
		{0, 4, 1, []byte{0xde, 0xad}},
		{0, 2, 2, be64(5)},               // another field version: raw
		{0, 5, 1, []byte{1}},             // a u16 of one byte: raw
		{0, 1, 1, []byte{0xff}},          // a string that is not UTF-8: raw
		{3, 0, 1, []byte{2}},             // a bool of 2: raw
		{9, 9, 3, []byte{1, 2}},          // unknown
		{1, 1, 2, []byte("tok")},         // bytes, fver 2 as registered
		{3, 1, 1, []byte{0, 0, 0x10, 0}}, // u32
	})
	f, _, _ := Parse(raw)
	js, _ := json.Marshal(r.Doc(&f))
	golden(t, "doc/values.json.golden", string(js)+"\n")
	var d FrameDoc
	if err := json.Unmarshal(js, &d); err != nil {
		t.Fatal(err)
	}
	if out, err := r.EncodeDoc(nil, d); err != nil || string(out) != string(raw) {
		t.Fatalf("re-encode: %v", err)
	}
}

func TestEncodeDocMinimal(t *testing.T) {
	var d FrameDoc
	in := `{"version":"v1","type":"data","seq":9,"fields":[{"name":"device_id","value":"d1"},{"name":"status","value":1}]}`
	if err := json.Unmarshal([]byte(in), &d); err != nil {
		t.Fatal(err)
	}
	out, err := Default().EncodeDoc(nil, d)
	if err != nil || string(out) != string(vector(t, "v1_data_mixed_down")) {
		t.Fatalf("%v % x", err, out)
	}
}

func TestEncodeDocErrors(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want error
		text string
	}{
		{`{"version":"v3","type":"DATA"}`, ErrNotQN, "v3"},
		{`{"version":"v2","type":"HELLO"}`, ErrType, "HELLO"},
		{`{"version":"v2","type":"DATA","flags":["urgent"]}`, ErrFlags, "urgent"},
		{`{"version":"v1","type":"DATA","flags":["ack_requested"]}`, ErrFlags, "v1 flags"},
		{`{"version":"v1","type":"DATA","seq":65536}`, ErrSeq, "65536"},
		{`{"version":"v2","type":"DATA","fields":[{"name":"nope","value":1}]}`, ErrValue, `no registered field "nope"`},
		{`{"version":"v2","type":"DATA","fields":[{"name":"status","ns":1,"value":1}]}`, ErrValue, `"status" is (ns 0, id 5)`},
		{`{"version":"v2","type":"DATA","fields":[{"value":1}]}`, ErrValue, "needs a name, or ns and id"},
		{`{"version":"v2","type":"DATA","fields":[{"ns":7,"id":1,"value":1}]}`, ErrValue, "needs raw"},
		{`{"version":"v2","type":"DATA","fields":[{"name":"status"}]}`, ErrValue, "has no value"},
		{`{"version":"v2","type":"DATA","fields":[{"name":"status","value":1,"raw":"00"}]}`, ErrValue, "both"},
		{`{"version":"v2","type":"DATA","fields":[{"name":"status","value":65536}]}`, ErrValue, "does not fit a u16"},
		{`{"version":"v2","type":"DATA","fields":[{"name":"status","value":-1}]}`, ErrValue, "invalid syntax"},
		{`{"version":"v2","type":"DATA","fields":[{"name":"body","value":"xyz"}]}`, ErrValue, "invalid byte"},
		{`{"version":"v2","type":"DATA","fields":[{"name":"kind","value":5}]}`, ErrValue, "cannot unmarshal"},
		{`{"version":"v2","type":"DATA","fields":[{"ns":7,"id":1,"raw":"0"}]}`, ErrValue, "raw"},
		{`{"version":"v1","type":"DATA","fields":[{"ns":7,"id":1,"raw":"00"}]}`, ErrField, "v1 cannot carry"},
	} {
		var d FrameDoc
		if err := json.Unmarshal([]byte(tc.in), &d); err != nil {
			t.Fatal(err)
		}
		out, err := Default().EncodeDoc([]byte("dst"), d)
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) || string(out) != "dst" {
			t.Errorf("%s: %q, %v; want %v containing %q", tc.in, out, err, tc.want, tc.text)
		}
	}
}

func TestReadHex(t *testing.T) {
	b, err := ReadHex(strings.NewReader("# comment\n01 02\t0a # trailing 99\n\nFF"))
	if err != nil || string(b) != "\x01\x02\x0a\xff" {
		t.Fatalf("% x %v", b, err)
	}
	if _, err := ReadHex(strings.NewReader("0")); err == nil {
		t.Fatal("odd digits")
	}
	if _, err := ReadHex(strings.NewReader("zz")); err == nil {
		t.Fatal("not hex")
	}
}
