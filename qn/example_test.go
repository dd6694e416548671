package qn_test

import (
	"errors"
	"fmt"

	"github.com/turnout-gw/turnout/qn"
)

// Write a v1 frame, read it back field by field, translate it to v2 and back.
func Example() {
	var b qn.Builder
	b.Reset(nil, qn.Header{Version: qn.V1, Type: qn.TypeData, Seq: 258})
	b.AddString(0, 1, 1, "dev-42")       // device_id
	b.AddUint(0, 2, 1, 8, 1700000000000) // timestamp_ms
	b.AddUint(0, 5, 1, 2, 200)           // status
	raw, err := b.Finish()
	if err != nil {
		panic(err)
	}
	fmt.Printf("v1: % x\n", raw[:6])

	v, _ := qn.Sniff(raw)
	f, _, err := qn.Parse(raw)
	if err != nil {
		panic(err)
	}
	reg := qn.Default()
	for it := f.Fields(); it.Next(); {
		fld := it.Field()
		def, _ := reg.LookupID(fld.NS, fld.ID)
		fmt.Printf("%v %s (%v): % x\n", v, def.Name, def.Type, fld.Value)
	}

	v2, _ := qn.ToV2(nil, &f)
	f2, _, _ := qn.Parse(v2)
	back, _ := qn.ToV1(nil, &f2, reg, nil)
	fmt.Printf("v2 is %d bytes, v1 again: %t\n", len(v2), string(back) == string(raw))
	// Output:
	// v1: 01 01 01 02 00 16
	// v1 device_id (string): 64 65 76 2d 34 32
	// v1 timestamp_ms (u64): 00 00 01 8b cf e5 68 00
	// v1 status (u16): 00 c8
	// v2 is 47 bytes, v1 again: true
}

// v2 → v1 drops what v1 cannot carry and says so, or refuses the frame.
func ExampleToV1() {
	reg, _ := qn.NewRegistry(append(qn.CoreFields(),
		qn.FieldDef{NS: 2, ID: 1, Name: "trace_id", Type: qn.Bytes, Version: 1},
		qn.FieldDef{NS: 1, ID: 1, Name: "auth_token", Type: qn.Bytes, Version: 1, RequiredDowngrade: true})...)
	raw, _ := qn.Encode(nil, qn.Header{Version: qn.V2, Type: qn.TypeData, Flags: qn.FlagAckRequested, Seq: 9}, []qn.Field{
		{NS: 0, ID: 1, Ver: 1, Value: []byte("dev-42")},
		{NS: 2, ID: 1, Ver: 1, Value: []byte{0xab, 0xcd}},
	})
	f, _, _ := qn.Parse(raw)
	var loss qn.Loss
	v1, err := qn.ToV1(nil, &f, reg, &loss)
	fmt.Println(len(v1), err)
	for _, d := range loss.Dropped {
		def, _ := reg.LookupID(d.NS, d.ID)
		fmt.Println("dropped", def.Name, "because of its", d.Reason)
	}

	raw, _ = qn.Encode(nil, qn.Header{Version: qn.V2, Type: qn.TypeData, Seq: 10}, []qn.Field{{NS: 1, ID: 1, Ver: 1, Value: []byte("t")}})
	f, _, _ = qn.Parse(raw)
	_, err = qn.ToV1(nil, &f, reg, &loss)
	fmt.Println(errors.Is(err, qn.ErrRefused), err)
	// Output:
	// 14 <nil>
	// dropped trace_id because of its namespace
	// true qn: translation refused (required_field) for seq 10: required_downgrade field "auth_token" would be dropped (namespace)
}
