package qn

import (
	"errors"
	"strconv"
	"sync"
	"testing"
)

func TestRegistry(t *testing.T) {
	r, err := NewRegistry(CoreFields()...)
	if err != nil {
		t.Fatal(err)
	}
	sec := FieldDef{NS: 1, ID: 1, Name: "auth_token", Type: Bytes, Version: 2, RequiredDowngrade: true}
	if err := r.Register(sec); err != nil {
		t.Fatal(err)
	}
	if d, ok := r.Lookup("auth_token"); !ok || d != sec {
		t.Errorf("Lookup(auth_token) = %+v, %v", d, ok)
	}
	if d, ok := r.LookupID(0, 5); !ok || d.Name != "status" || d.Type != U16 || d.Version != 1 {
		t.Errorf("LookupID(0, 5) = %+v, %v", d, ok)
	}
	if !r.IsRegistered(1, 1) || r.IsRegistered(1, 2) || r.IsRegistered(2, 1) {
		t.Error("IsRegistered")
	}
	if _, ok := r.Lookup("nope"); ok {
		t.Error("Lookup(nope)")
	}
	fields := r.Fields()
	if len(fields) != 6 || fields[0].Name != "device_id" || fields[5].Name != "auth_token" {
		t.Errorf("Fields() = %v", fields)
	}

	for _, tc := range []struct {
		name string
		defs []FieldDef
		want error
	}{
		{"same id", []FieldDef{{NS: 0, ID: 1, Name: "other", Type: String, Version: 1}}, ErrDuplicate},
		{"same name", []FieldDef{{NS: 2, ID: 1, Name: "kind", Type: String, Version: 1}}, ErrDuplicate},
		{"same id twice in one call", []FieldDef{{NS: 2, ID: 1, Name: "a", Type: U8, Version: 1}, {NS: 2, ID: 1, Name: "b", Type: U8, Version: 1}}, ErrDuplicate},
		{"empty name", []FieldDef{{NS: 2, ID: 1, Type: U8, Version: 1}}, ErrInvalidDef},
		{"upper case", []FieldDef{{NS: 2, ID: 1, Name: "TraceID", Type: U8, Version: 1}}, ErrInvalidDef},
		{"leading digit", []FieldDef{{NS: 2, ID: 1, Name: "1x", Type: U8, Version: 1}}, ErrInvalidDef},
		{"no type", []FieldDef{{NS: 2, ID: 1, Name: "x", Version: 1}}, ErrInvalidDef},
		{"type 9", []FieldDef{{NS: 2, ID: 1, Name: "x", Type: 9, Version: 1}}, ErrInvalidDef},
		{"fver 0", []FieldDef{{NS: 2, ID: 1, Name: "x", Type: U8}}, ErrInvalidDef},
		{"all or none", []FieldDef{{NS: 2, ID: 1, Name: "trace_id", Type: Bytes, Version: 1}, {NS: 2, ID: 2, Name: "device_id", Type: String, Version: 1}}, ErrDuplicate},
	} {
		if err := r.Register(tc.defs...); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if r.IsRegistered(2, 1) || len(r.Fields()) != 6 {
		t.Error("a refused registration changed the registry")
	}
}

func TestDefaultRegistry(t *testing.T) {
	got := Default().Fields()
	if len(got) < 5 {
		t.Fatalf("%v", got)
	}
	for i, want := range CoreFields() {
		if got[i] != want {
			t.Errorf("core %d: %+v, want %+v", i, got[i], want)
		}
	}
	var zero Registry
	var nilReg *Registry
	if zero.IsRegistered(0, 1) || nilReg.IsRegistered(0, 1) || nilReg.Fields() != nil {
		t.Error("empty registries are empty")
	}
}

func TestKnownCountsUnknown(t *testing.T) {
	f, _, err := Parse(vector(t, "v1_unknown"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	unknown := Default().Known(&f, func(d FieldDef, fld Field) { names = append(names, d.Name) })
	if unknown != 1 || len(names) != 2 || names[0] != "device_id" || names[1] != "body" {
		t.Errorf("Known: %v, %d unknown", names, unknown)
	}
	var empty *Registry
	if n := empty.Known(&f, func(FieldDef, Field) { t.Error("called") }); n != 3 {
		t.Errorf("nil registry: %d unknown", n)
	}
	allocs := testing.AllocsPerRun(100, func() {
		n := 0
		Default().Known(&f, func(d FieldDef, fld Field) { n += len(fld.Value) })
	})
	if allocs != 0 {
		t.Errorf("Known: %v allocations", allocs)
	}
}

// TestRegistryConcurrent registers while others look up; run with -race.
func TestRegistryConcurrent(t *testing.T) {
	r, _ := NewRegistry(CoreFields()...)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 50 {
				id := uint16(w*100 + i)
				if err := r.Register(FieldDef{NS: 3, ID: id, Name: "f" + strconv.Itoa(int(id)), Type: U32, Version: 1}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	for range 4 {
		wg.Go(func() {
			for range 2000 {
				if d, ok := r.Lookup("device_id"); !ok || d.ID != 1 {
					t.Error("core field lost")
				}
				r.IsRegistered(3, 7)
				_ = len(r.Fields())
			}
		})
	}
	wg.Wait()
	if n := len(r.Fields()); n != 5+200 {
		t.Fatalf("%d fields", n)
	}
}
