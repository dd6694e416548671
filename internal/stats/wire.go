package stats

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// The wire form of an Export, what a fleet member sends the leader
// (ExportContentType). Integers are varints (encoding/binary), strings a
// length and their bytes:
//
//	"TW" 1                                   magic and format version
//	uvarint services
//	  string service, uvarint versions
//	    string version
//	    uvarint requests, errors, span (ns)
//	    uvarint first, n                     histogram buckets [first, first+n)
//	    n × uvarint count
//	    varint min, max (ns)                 only when requests > 0 or n > 0
//
// Services come in name order, versions too. A histogram is sent as the run
// from its first to its last non-empty bucket, so a version whose
// latencies spread over ten buckets costs some twenty bytes for them; a
// version window is typically 30 to 40 bytes with its name.
const (
	// ExportContentType is the media type of the wire form.
	ExportContentType = "application/vnd.turnout.windows.v1"
	wireMagic         = "TW\x01"
	// maxWireName bounds a name in the wire form.
	maxWireName = 1 << 10
)

// ErrMalformed is wrapped by DecodeExport's errors: the bytes are not an
// Export this package wrote.
var ErrMalformed = errors.New("malformed window export")

// AppendBinary appends e's wire form to b and returns the result.
func (e *Export) AppendBinary(b []byte) ([]byte, error) {
	keys := e.Keys()
	b = append(b, wireMagic...)
	services := 0
	for i := range keys {
		if i == 0 || keys[i].Service != keys[i-1].Service {
			services++
		}
	}
	b = binary.AppendUvarint(b, uint64(services))
	for i := 0; i < len(keys); {
		svc := keys[i].Service
		j := i
		for j < len(keys) && keys[j].Service == svc {
			j++
		}
		b = appendString(b, svc)
		b = binary.AppendUvarint(b, uint64(j-i))
		for _, k := range keys[i:j] {
			b = appendString(b, k.Version)
			b = e.windows[k].appendBinary(b)
		}
		i = j
	}
	return b, nil
}

// MarshalBinary returns e's wire form.
func (e *Export) MarshalBinary() ([]byte, error) { return e.AppendBinary(nil) }

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func (w *Window) appendBinary(b []byte) []byte {
	a := &w.agg
	b = binary.AppendUvarint(b, uint64(a.requests))
	b = binary.AppendUvarint(b, uint64(a.errors))
	b = binary.AppendUvarint(b, uint64(w.span))
	first, last := 0, -1
	for i, c := range a.hist {
		if c != 0 {
			if last < 0 {
				first = i
			}
			last = i
		}
	}
	b = binary.AppendUvarint(b, uint64(first))
	b = binary.AppendUvarint(b, uint64(last-first+1))
	for _, c := range a.hist[first : last+1] {
		b = binary.AppendUvarint(b, c)
	}
	if a.requests > 0 || last >= 0 {
		b = binary.AppendVarint(b, a.min)
		b = binary.AppendVarint(b, a.max)
	}
	return b
}

// DecodeExport reads an Export's wire form. Malformed input (truncated,
// trailing bytes, out-of-range numbers, a version twice) is an error
// wrapping ErrMalformed.
func DecodeExport(b []byte) (*Export, error) {
	d := decoder{b: b}
	if len(b) < len(wireMagic) || string(b[:len(wireMagic)]) != wireMagic {
		return nil, fmt.Errorf("%w: no %q header", ErrMalformed, wireMagic)
	}
	d.b = b[len(wireMagic):]
	services := d.count()
	e := &Export{windows: make(map[VersionKey]*Window, services*2)}
	names := map[string]string{} // version names, shared by the services
	var block []Window
	for range services {
		svc := d.string()
		nv := d.count()
		for range nv {
			vb := d.bytes()
			v, ok := names[string(vb)]
			if !ok && d.err == nil {
				v = string(vb)
				names[v] = v
			}
			if len(block) == 0 {
				block = make([]Window, min(max(nv, 64), len(d.b)+1))
			}
			w := &block[0]
			block = block[1:]
			d.window(w)
			if d.err != nil {
				return nil, d.err
			}
			k := VersionKey{svc, v}
			if _, dup := e.windows[k]; dup {
				return nil, fmt.Errorf("%w: %s/%s twice", ErrMalformed, svc, v)
			}
			e.windows[k] = w
		}
		if d.err != nil {
			return nil, d.err
		}
	}
	if d.err == nil && len(d.b) > 0 {
		d.fail("%d trailing bytes", len(d.b))
	}
	if d.err != nil {
		return nil, d.err
	}
	return e, nil
}

// decoder reads varints and strings from b, keeping the first error.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
	}
	d.b = nil
}

func (d *decoder) uvarint(max uint64) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	if v > max {
		d.fail("%d out of range", v)
		return 0
	}
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a number of items, each at least one byte long.
func (d *decoder) count() int { return int(d.uvarint(uint64(len(d.b)))) }

func (d *decoder) bytes() []byte {
	n := int(d.uvarint(maxWireName))
	if d.err != nil {
		return nil
	}
	if n > len(d.b) {
		d.fail("truncated name")
		return nil
	}
	s := d.b[:n]
	d.b = d.b[n:]
	return s
}

func (d *decoder) string() string { return string(d.bytes()) }

// window reads a window written by Window.appendBinary into w.
func (d *decoder) window(w *Window) {
	a := &w.agg
	*a = newAgg()
	a.requests = int64(d.uvarint(math.MaxInt64))
	a.errors = int64(d.uvarint(uint64(a.requests)))
	w.span = time.Duration(d.uvarint(math.MaxInt64))
	first := int(d.uvarint(nHist))
	n := int(d.uvarint(uint64(nHist - first)))
	for i := range n {
		a.hist[first+i] = d.uvarint(math.MaxUint64)
	}
	if d.err == nil && (a.requests > 0 || slices.ContainsFunc(a.hist[:], func(c uint64) bool { return c != 0 })) {
		a.min, a.max = d.varint(), d.varint()
	}
}
