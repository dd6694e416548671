package qn

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"
)

var update = flag.Bool("update", false, "rewrite the .golden files of qn/testdata")

// golden compares got with testdata/NAME, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// TestProtoNumberOneToOne checks every (ns, id): valid protobuf numbers, no two alike.
func TestProtoNumberOneToOne(t *testing.T) {
	seen := make([]uint64, (1<<25)/64)
	for k := range 1 << 24 {
		n := ProtoNumber(uint8(k>>16), uint16(k))
		if n == 0 || n >= 19000 && n <= 19999 || n > 1<<29-1 {
			t.Fatalf("(ns %d, id %d) → %d, not a valid field number", k>>16, k&0xffff, n)
		}
		if seen[n/64]&(1<<(n%64)) != 0 {
			t.Fatalf("(ns %d, id %d) → %d, taken", k>>16, k&0xffff, n)
		}
		seen[n/64] |= 1 << (n % 64)
	}
	for _, tc := range []struct {
		ns   uint8
		id   uint16
		want uint32
	}{{0, 1, 1}, {0, 5, 5}, {1, 1, 65537}, {0, 0, 1 << 24}, {0, 19000, 1<<24 + 19000}, {0, 20000, 20000}, {255, 65535, 1<<24 - 1}} {
		if got := ProtoNumber(tc.ns, tc.id); got != tc.want {
			t.Errorf("ProtoNumber(%d, %d) = %d, want %d", tc.ns, tc.id, got, tc.want)
		}
	}
}

func protoTestRegistry(t *testing.T) *Registry {
	r, err := NewRegistry(append(CoreFields(),
		FieldDef{NS: 1, ID: 1, Name: "auth_token", Type: Bytes, Version: 2, RequiredDowngrade: true},
		FieldDef{NS: 2, ID: 7, Name: "span_id", Type: U64, Version: 1},
		FieldDef{NS: 0, ID: 6, Name: "battery_pct", Type: U8, Version: 1, Deprecated: true},
		FieldDef{NS: 0, ID: 19001, Name: "reserved_range", Type: I64, Version: 1},
		FieldDef{NS: 3, ID: 0, Name: "healthy", Type: Bool, Version: 1},
		FieldDef{NS: 3, ID: 1, Name: "temp_milli", Type: U32, Version: 1},
	)...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestWriteProto(t *testing.T) {
	r := protoTestRegistry(t)
	var sb strings.Builder
	if err := r.WriteProto(&sb); err != nil {
		t.Fatal(err)
	}
	golden(t, "proto/registry.proto.golden", sb.String())
	checkProto(t, sb.String())
}

var protoFieldLine = regexp.MustCompile(`^  optional (\w+) (\w+) = (\d+)( \[deprecated = true\])?;$`)

// checkProto reads the message's field lines back into a descriptor and has
// the protobuf runtime validate it (names, numbers, reserved ranges, clashes).
func checkProto(t *testing.T, text string) {
	t.Helper()
	types := map[string]descriptorpb.FieldDescriptorProto_Type{
		"uint32": descriptorpb.FieldDescriptorProto_TYPE_UINT32, "uint64": descriptorpb.FieldDescriptorProto_TYPE_UINT64,
		"int64": descriptorpb.FieldDescriptorProto_TYPE_INT64, "bool": descriptorpb.FieldDescriptorProto_TYPE_BOOL,
		"string": descriptorpb.FieldDescriptorProto_TYPE_STRING, "bytes": descriptorpb.FieldDescriptorProto_TYPE_BYTES,
	}
	msg := &descriptorpb.DescriptorProto{Name: proto.String(ProtoMessage)}
	for line := range strings.SplitSeq(text, "\n") {
		m := protoFieldLine.FindStringSubmatch(line)
		if m == nil {
			if strings.HasPrefix(line, "  optional") {
				t.Fatalf("unparsed field line %q", line)
			}
			continue
		}
		num, _ := strconv.Atoi(m[3])
		typ, ok := types[m[1]]
		if !ok {
			t.Fatalf("type %q", m[1])
		}
		oneof := int32(len(msg.OneofDecl))
		msg.OneofDecl = append(msg.OneofDecl, &descriptorpb.OneofDescriptorProto{Name: proto.String("_" + m[2])})
		msg.Field = append(msg.Field, &descriptorpb.FieldDescriptorProto{
			Name: proto.String(m[2]), Number: proto.Int32(int32(num)), Type: typ.Enum(),
			Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(), JsonName: proto.String(m[2]),
			OneofIndex: proto.Int32(oneof), Proto3Optional: proto.Bool(true),
			Options: &descriptorpb.FieldOptions{Deprecated: proto.Bool(m[4] != "")},
		})
	}
	if len(msg.Field) == 0 {
		t.Fatal("no fields")
	}
	file := &descriptorpb.FileDescriptorProto{
		Name: proto.String("qn.proto"), Package: proto.String(ProtoPackage), Syntax: proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{msg},
	}
	if _, err := protodesc.NewFile(file, nil); err != nil {
		t.Fatalf("protobuf rejects the description: %v", err)
	}
}
