package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// fill sets every field reachable from v (exported fields, through
// pointers, one map entry and one list item each) to a value that depends
// on seed; two fills with the same seed are equal and share nothing.
func fill(v reflect.Value, seed int) {
	switch {
	case v.Type() == reflect.TypeOf(Meta{}):
		v.Addr().Interface().(*Meta).setKey("k", Pos{File: "f", Line: seed, Col: seed}, Pos{File: "f", Line: seed, Col: seed})
		return
	case v.Type() == reflect.TypeOf(Time{}):
		v.Set(reflect.ValueOf(Time{time.Date(2027, 6, seed%28+1, 0, 0, 0, 0, time.UTC)}))
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), seed)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), seed)
			}
		}
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		e := reflect.New(v.Type().Elem()).Elem()
		fill(e, seed)
		v.SetMapIndex(reflect.ValueOf("k"), e)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0), seed)
	case reflect.String:
		v.SetString("s" + strings.Repeat("x", seed))
	case reflect.Bool:
		v.SetBool(seed%2 == 1)
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(seed))
	case reflect.Float64:
		v.SetFloat(float64(seed))
	default:
		panic("fill: unhandled " + v.Type().String())
	}
}

// leaves calls f with the path of every value fill sets, in the service
// rooted at v, and a function that changes that value in place.
func leaves(v reflect.Value, path string, f func(path string, change func())) {
	switch {
	case v.Type() == reflect.TypeOf(Meta{}):
		return
	case v.Type() == reflect.TypeOf(Time{}):
		f(path, func() { fill(v, 98) })
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		f(path+" (nil)", func() { v.Set(reflect.Zero(v.Type())) })
		if !v.IsNil() {
			leaves(v.Elem(), path, f)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				leaves(v.Field(i), path+"."+v.Type().Field(i).Name, f)
			}
		}
	case reflect.Map:
		f(path+" (extra entry)", func() {
			e := reflect.New(v.Type().Elem()).Elem()
			fill(e, 1)
			v.SetMapIndex(reflect.ValueOf("other"), e)
		})
		e := reflect.New(v.Type().Elem()).Elem()
		e.Set(v.MapIndex(reflect.ValueOf("k")))
		leaves(e, path+"[k]", func(p string, change func()) {
			f(p, func() { change(); v.SetMapIndex(reflect.ValueOf("k"), e) })
		})
	case reflect.Slice:
		f(path+" (extra item)", func() { v.Set(reflect.Append(v, reflect.Zero(v.Type().Elem()))) })
		leaves(v.Index(0), path+"[0]", f)
	default:
		f(path, func() { fill(v, 98) })
	}
}

// TestSameSpecComparesEveryField: changing any value of a service (but
// the rollout weight and positions) makes it differ; positions and weight
// do not.
func TestSameSpecComparesEveryField(t *testing.T) {
	build := func(seed int) *Service {
		s := &Service{}
		fill(reflect.ValueOf(s).Elem(), seed)
		return s
	}
	a := build(3)
	if !a.SameSpec(build(3)) {
		t.Fatal("two services filled alike differ")
	}
	moved := build(3)
	moved.Meta = Meta{}
	moved.setKey("other", Pos{Line: 40, Col: 2}, Pos{Line: 40, Col: 9})
	moved.Rollout.Weight = 77
	if !a.SameSpec(moved) {
		t.Fatal("positions or the rollout weight make services differ")
	}
	count := 0
	leaves(reflect.ValueOf(build(3)).Elem(), "Service", func(path string, _ func()) {
		if path == "Service.Rollout.Weight" {
			return
		}
		count++
		b := build(3)
		found := false
		leaves(reflect.ValueOf(b).Elem(), "Service", func(p string, change func()) {
			if p == path && !found {
				found = true
				change()
			}
		})
		if a.SameSpec(b) || b.SameSpec(a) {
			t.Errorf("changing %s does not make the services differ", path)
		}
	})
	if count < 60 {
		t.Fatalf("only %d values were changed; fill or leaves misses fields", count)
	}
}
