package config

import (
	"reflect"
	"runtime"
	"sync"
)

// parallelMin is the number of entries from which a mapping of named
// nodes (the services of a large configuration) is decoded, and its
// services validated, by several goroutines.
var parallelMin = 512

// workersFor is how many goroutines share n independent items: one per
// processor Go may use, each with at least parallelMin/2 items.
func workersFor(n int) int {
	return max(1, min(runtime.GOMAXPROCS(0), n/(parallelMin/2)))
}

// inChunks calls f once for each of w contiguous ranges [lo, hi) that
// split 0..n, each on its own goroutine, and waits for them.
func inChunks(n, w int, f func(chunk, lo, hi int)) {
	var wg sync.WaitGroup
	for i := 0; i < w; i++ {
		lo, hi := i*n/w, (i+1)*n/w
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(i, lo, hi)
		}()
	}
	wg.Wait()
}

// decodeEntriesParallel decodes the entries of a mapping into a map whose
// values are pointers, each entry into a node of its own, on several
// goroutines that each have a decoder of their own (its own Meta keys,
// path and problems; the tree is only read). The map is filled, and the
// problems are collected, in the order of the entries, as decodeMap would.
// It is not used for documents with aliases: their alias budget is shared.
func (d *decoder) decodeEntriesParallel(c []node, entries []int, v reflect.Value, ti *typeInfo) {
	vals := reflect.MakeSlice(reflect.SliceOf(ti.elem.t), len(entries), len(entries)) // the pointers
	w := workersFor(len(entries))
	errs := make([]collector, w)
	inChunks(len(entries), w, func(chunk, lo, hi int) {
		sub := &decoder{file: d.file, t: d.t, path: append([]pathSeg(nil), d.path...), defaults: d.defaults}
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

// chunksFor is how many goroutines check n independent items: one below
// parallelMin items, else workersFor(n).
func chunksFor(n int) int {
	if n < parallelMin {
		return 1
	}
	return workersFor(n)
}

// eachChunk calls f(chunk, i) for each item i of 0..n, the items of each of
// w contiguous chunks in order, each chunk on its own goroutine when w > 1.
func eachChunk(n, w int, f func(chunk, i int)) {
	if w <= 1 {
		for i := range n {
			f(0, i)
		}
		return
	}
	inChunks(n, w, func(chunk, lo, hi int) {
		for i := lo; i < hi; i++ {
			f(chunk, i)
		}
	})
}
