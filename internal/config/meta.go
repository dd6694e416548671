package config

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Pos is a position in a configuration file. Line and Col are 1-based; a
// zero Pos means "unknown" (for example a value filled in by a default).
type Pos struct {
	File string
	Line int
	Col  int
}

// String formats the position as FILE:LINE:COL.
func (p Pos) String() string {
	f := p.File
	if f == "" {
		f = "<config>"
	}
	return fmt.Sprintf("%s:%d:%d", f, p.Line, p.Col)
}

// Meta records where a node and each of its keys were written. It is filled
// by the decoder; every config struct embeds one so that Validate can anchor
// its errors. Meta is read-only after decoding.
type Meta struct {
	// At is the position of the node itself (the mapping or scalar).
	At Pos
	// file is the file of every position in keys.
	file string
	// keys holds, for each YAML key of this node, the position of the key
	// and of its value. It also holds "KEY[i]" for each item of a list value
	// and "KEY.NAME" for each entry of a mapping value, and "" for the key or
	// map entry name under which the node itself was written.
	keys []keyEntry
	// index finds a key in keys once there are more than a few (a mapping
	// of thousands of services); nil before.
	index map[keyRef]int32
}

// keyRef names an entry of a Meta: KEY, KEY[item-1] or KEY.sub. Struct keys
// hold neither '.' nor '[', so a name splits unambiguously at the first of
// them.
type keyRef struct {
	sub  string
	key  keyID
	item int32 // list index + 1; 0 when the entry is not a list item
}

type keyEntry struct {
	keyRef
	keyLine, keyCol, valLine, valCol int32
}

// keyID stands for the KEY of Meta entries, a yaml key of a config struct:
// a configuration's Metas hold hundreds of thousands of entries, whose
// names would take 16 bytes each. The keyID of "" (the entry of the name a
// node was written under) is 0.
type keyID uint16

// noKey is the keyID of a name no entry holds.
const noKey keyID = math.MaxUint16

// keyIDs maps key names to their keyIDs; the map is replaced, never
// modified, under keyMu.
var (
	keyMu  sync.Mutex
	keyIDs atomic.Pointer[map[string]keyID]
)

// lookupKey returns the keyID of name, or noKey when no entry can hold it.
func lookupKey(name string) keyID {
	if name == "" {
		return 0
	}
	if m := keyIDs.Load(); m != nil {
		if id, ok := (*m)[name]; ok {
			return id
		}
	}
	return noKey
}

// internKey returns the keyID of name, giving it one if it has none.
func internKey(name string) keyID {
	if id := lookupKey(name); id != noKey {
		return id
	}
	keyMu.Lock()
	defer keyMu.Unlock()
	old := map[string]keyID{}
	if m := keyIDs.Load(); m != nil {
		old = *m
	}
	if id, ok := old[name]; ok {
		return id
	}
	id := keyID(len(old) + 1)
	if id == noKey {
		panic("config: too many distinct key names")
	}
	next := make(map[string]keyID, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[name] = id
	keyIDs.Store(&next)
	return id
}

// indexFrom is the number of keys past which a Meta builds its index.
const indexFrom = 16

// refOf splits a key name ("match", "rules[2]", "versions.v2.1") into a
// keyRef; key names not held by any entry get noKey.
func refOf(name string) keyRef { return splitRef(name, lookupKey) }

// splitRef is refOf with the keyIDs of id.
func splitRef(name string, id func(string) keyID) keyRef {
	i := 0
	for i < len(name) && name[i] != '.' && name[i] != '[' {
		i++
	}
	switch {
	case i == len(name):
		return keyRef{key: id(name)}
	case name[i] == '.':
		return keyRef{key: id(name[:i]), sub: name[i+1:]}
	}
	if j := len(name) - 1; j > i && name[j] == ']' {
		if n, err := strconv.Atoi(name[i+1 : j]); err == nil && n >= 0 && n < math.MaxInt32 {
			return keyRef{key: id(name[:i]), item: int32(n) + 1}
		}
	}
	return keyRef{key: noKey} // names nothing the decoder records
}

func (m *Meta) find(r keyRef) (int, bool) {
	if m.index != nil {
		i, ok := m.index[r]
		return int(i), ok
	}
	for i := range m.keys {
		if k := &m.keys[i].keyRef; k.key == r.key && k.item == r.item && k.sub == r.sub {
			return i, true
		}
	}
	return 0, false
}

func (m *Meta) pos(line, col int32) Pos { return Pos{File: m.file, Line: int(line), Col: int(col)} }

// PosOf returns the position of key's value, or of the node when the key was
// not written (for example a required key that is missing).
func (m *Meta) PosOf(key string) Pos {
	if i, ok := m.find(refOf(key)); ok {
		return m.pos(m.keys[i].valLine, m.keys[i].valCol)
	}
	return m.At
}

// KeyPos returns the position of key itself, or of the node when absent.
func (m *Meta) KeyPos(key string) Pos {
	if i, ok := m.find(refOf(key)); ok {
		return m.pos(m.keys[i].keyLine, m.keys[i].keyCol)
	}
	return m.At
}

// Has reports whether key was written in the file.
func (m *Meta) Has(key string) bool {
	_, ok := m.find(refOf(key))
	return ok
}

// Errorf returns an *Error anchored at key's value (or the node).
func (m *Meta) Errorf(key, format string, args ...any) *Error {
	return &Error{Pos: m.PosOf(key), Msg: fmt.Sprintf(format, args...)}
}

// KeyErrorf returns an *Error anchored at key itself (or the node): use it for
// problems with a map entry's name, such as a dangling or duplicate name.
func (m *Meta) KeyErrorf(key, format string, args ...any) *Error {
	return &Error{Pos: m.KeyPos(key), Msg: fmt.Sprintf(format, args...)}
}

// setKey records key's positions (decoding only: a Meta is read-only once
// its Config is returned).
func (m *Meta) setKey(key string, keyPos, valPos Pos) {
	m.set(splitRef(key, internKey), keyPos, valPos)
}

// set records the positions of r (all positions of a Meta are in one file).
func (m *Meta) set(r keyRef, keyPos, valPos Pos) {
	if i, ok := m.find(r); ok {
		m.keys[i] = keyEntry{keyRef: r, keyLine: int32(keyPos.Line), keyCol: int32(keyPos.Col), valLine: int32(valPos.Line), valCol: int32(valPos.Col)}
		return
	}
	m.add(r, keyPos, valPos)
}

// add records the positions of r, which is not recorded yet.
func (m *Meta) add(r keyRef, keyPos, valPos Pos) {
	m.file = keyPos.File
	m.keys = append(m.keys, keyEntry{keyRef: r, keyLine: int32(keyPos.Line), keyCol: int32(keyPos.Col), valLine: int32(valPos.Line), valCol: int32(valPos.Col)})
	switch {
	case m.index != nil:
		m.index[r] = int32(len(m.keys) - 1)
	case len(m.keys) > indexFrom:
		m.index = make(map[keyRef]int32, max(cap(m.keys), 2*len(m.keys)))
		for i := range m.keys {
			m.index[m.keys[i].keyRef] = int32(i)
		}
	}
}

// grow makes room for n more keys.
func (m *Meta) grow(n int) { m.keys = slices.Grow(m.keys, n) }

// Error is one configuration problem anchored at a position.
type Error struct {
	Pos Pos
	Msg string
	// Warning marks a problem that does not make the configuration invalid
	// (for example a rule that cannot be expressed in Envoy).
	Warning bool
}

// Error formats the problem as FILE:LINE:COL: message.
func (e *Error) Error() string {
	if e.Warning {
		return e.Pos.String() + ": warning: " + e.Msg
	}
	return e.Pos.String() + ": " + e.Msg
}

// Errors is a list of problems, sorted by position. It is what Load and
// Validate return when anything is wrong.
type Errors []*Error

// Error joins the problems one per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Sort orders the problems by file, line and column.
func (es Errors) Sort() {
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i].Pos, es[j].Pos
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}

// Flatten collects every *Error inside err (through errors.Join, Errors and
// %w wrapping) into a sorted list. Errors without a position are kept with a
// zero Pos so nothing is lost.
func Flatten(err error) Errors {
	var out Errors
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		switch e := err.(type) {
		case *Error:
			out = append(out, e)
			return
		case Errors:
			out = append(out, e...)
			return
		case interface{ Unwrap() []error }:
			for _, x := range e.Unwrap() {
				walk(x)
			}
			return
		}
		var ce *Error
		if errors.As(err, &ce) {
			out = append(out, ce)
			return
		}
		out = append(out, &Error{Msg: err.Error()})
	}
	walk(err)
	out.Sort()
	return out
}

// collector gathers problems while validating; its zero value is ready to use.
type collector struct{ errs []error }

func (c *collector) add(err error) {
	if err != nil {
		c.errs = append(c.errs, err)
	}
}

func (c *collector) err() error { return errors.Join(c.errs...) }
