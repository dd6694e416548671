package config

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"maps"
	"math"
	"reflect"
	"slices"
	"strings"
	"time"
)

// SpecDigest is what a member of a fleet publishes about one service, so
// the leader can tell whether every member runs the same rollout (a
// half-finished config deploy does not): Hash, equal on two members
// exactly when every part is, and the hash of each part, so that a
// difference can be named (Diff).
//
// The parts are what decides which version a request gets and how the
// rollout is judged, every field of them whatever its place in the file:
//
//	default, fallback, protocol, rules, mirror, contract
//	versions.NAME                      each version: upstream name, lifecycle, dates, fault…
//	rollout.FIELD                      from, to, weight, sticky, steps, step_interval,
//	                                   analysis, on_failure, require_compatible
//
// Left out are what only says how this member receives the service's
// requests (match, negotiate, listen, qn, limits), how its callers are
// counted (clients) and whom the leader notifies (rollout.notify); upstream targets are not part of a service
// (members in different zones may reach a version at different addresses).
// Positions in the file never count, nor the order of mapping keys.
type SpecDigest struct {
	Hash  string            `json:"hash"`
	Parts map[string]string `json:"parts"`
}

// Digest returns the service's SpecDigest. It only reads s.
func (s *Service) Digest() SpecDigest {
	parts := map[string]any{
		"default":  s.Default,
		"fallback": s.Fallback,
		"protocol": s.Protocol,
		"rules":    s.Rules,
		"mirror":   s.Mirror,
		"contract": s.Contract,
	}
	for name, v := range s.Versions {
		parts["versions."+name] = v
	}
	if r := s.Rollout; r != nil {
		rv := reflect.ValueOf(r).Elem()
		for i := range rv.NumField() {
			f := rv.Type().Field(i)
			if name := yamlName(f); name != "" && name != "notify" {
				parts["rollout."+name] = rv.Field(i).Interface()
			}
		}
	}
	d := SpecDigest{Parts: make(map[string]string, len(parts))}
	all := sha256.New()
	for _, name := range slices.Sorted(maps.Keys(parts)) {
		h := sha256.New()
		canon(h, reflect.ValueOf(parts[name]))
		sum := h.Sum(nil)
		d.Parts[name] = hex.EncodeToString(sum[:8])
		writeString(all, name)
		all.Write(sum)
	}
	d.Hash = hex.EncodeToString(all.Sum(nil)[:16])
	return d
}

// Diff returns the names of the parts in which d and o differ (one has a
// part the other has not, or their hashes differ), sorted.
func (d SpecDigest) Diff(o SpecDigest) []string {
	var out []string
	for name, h := range d.Parts {
		if o.Parts[name] != h {
			out = append(out, name)
		}
	}
	for name := range o.Parts {
		if _, ok := d.Parts[name]; !ok {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// yamlName is the key a struct field is written under, "" for the fields
// that are not in the file (Meta, yaml:"-", unexported).
func yamlName(f reflect.StructField) string {
	tag := f.Tag.Get("yaml")
	if !f.IsExported() || tag == "-" || f.Type == reflect.TypeFor[Meta]() {
		return ""
	}
	if tag == "" {
		return f.Name
	}
	return tag
}

// canon writes v to h in a canonical form: struct fields by their YAML
// names, map entries sorted by key, every value tagged with its length or
// presence, so two different values never write the same bytes.
func canon(h hash.Hash, v reflect.Value) {
	if v.Type() == reflect.TypeFor[time.Time]() {
		writeString(h, v.Interface().(time.Time).UTC().Format(time.RFC3339Nano))
		return
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			h.Write([]byte{0})
			return
		}
		h.Write([]byte{1})
		canon(h, v.Elem())
	case reflect.Struct:
		for i := range v.NumField() {
			if name := yamlName(v.Type().Field(i)); name != "" {
				writeString(h, name)
				canon(h, v.Field(i))
			}
		}
		h.Write([]byte{0xff})
	case reflect.Map:
		keys := v.MapKeys()
		slices.SortFunc(keys, compareKeys)
		writeUint(h, uint64(len(keys)))
		for _, k := range keys {
			canon(h, k)
			canon(h, v.MapIndex(k))
		}
	case reflect.Slice, reflect.Array:
		writeUint(h, uint64(v.Len()))
		for i := range v.Len() {
			canon(h, v.Index(i))
		}
	case reflect.String:
		writeString(h, v.String())
	case reflect.Bool:
		if v.Bool() {
			h.Write([]byte{1})
		} else {
			h.Write([]byte{0})
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		writeUint(h, uint64(v.Int()))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		writeUint(h, v.Uint())
	case reflect.Float32, reflect.Float64:
		writeUint(h, math.Float64bits(v.Float()))
	default:
		panic(fmt.Sprintf("config: spec digest cannot hash a %s", v.Type()))
	}
}

func compareKeys(a, b reflect.Value) int {
	if a.Kind() == reflect.String {
		return strings.Compare(a.String(), b.String())
	}
	return strings.Compare(fmt.Sprint(a.Interface()), fmt.Sprint(b.Interface()))
}

func writeUint(h hash.Hash, x uint64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], x)
	h.Write(b[:])
}

func writeString(h hash.Hash, s string) {
	writeUint(h, uint64(len(s)))
	h.Write([]byte(s))
}
