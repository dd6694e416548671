package config

import (
	"reflect"

	"github.com/turnout-gw/turnout/internal/chunks"
)

// parallelMin is the number of entries from which a mapping of named
// nodes (the services of a large configuration) is decoded, and its
// services validated, by several goroutines.
var parallelMin = 512

// chunksFor is how many goroutines handle n independent items: one below
// parallelMin items, else one per processor with at least parallelMin/2
// items each.
func chunksFor(n int) int {
	if n < parallelMin {
		return 1
	}
	return chunks.Workers(n, parallelMin/2)
}

// decodeEntriesParallel decodes the entries of a mapping into a map whose
// values are pointers, each entry into a node of its own, on several
// goroutines that each have a decoder of their own (its own Meta keys,
// path and problems; the tree is only read). The map is filled, and the
// problems are collected, in the order of the entries, as decodeMap would.
// It is not used for documents with aliases: their alias budget is shared.
func (d *decoder) decodeEntriesParallel(c []node, entries []int, v reflect.Value, ti *typeInfo) {
	vals := reflect.MakeSlice(reflect.SliceOf(ti.elem.t), len(entries), len(entries)) // the pointers
	w := chunksFor(len(entries))
	errs := make([]collector, w)
	chunks.Run(len(entries), w, func(chunk, lo, hi int) {
		sub := &decoder{file: d.file, t: d.t, src: d.src, path: append([]pathSeg(nil), d.path...), defaults: d.defaults}
		for j := lo; j < hi; j++ {
			i := entries[j]
			sub.decodeEntry(&c[i], &c[i+1], vals.Index(j), ti.elem)
		}
		errs[chunk] = sub.errs
	})
	for _, e := range errs {
		d.errs.errs = append(d.errs.errs, e.errs...)
	}
	key := d.cell(ti.t.Key())
	defer d.release(ti.t.Key(), key)
	for j, i := range entries {
		key.SetString(d.t.value(&c[i]))
		v.SetMapIndex(key, vals.Index(j))
	}
}
