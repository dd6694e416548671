package config

import (
	"math"
	"reflect"
	"strconv"
	"strings"
)

// mergeKeyRefused is the problem reported at a "<<" merge key, in a struct
// mapping or a map of named entries alike: yaml.v3 leaves merging to the
// decoder, and this decoder does not merge (a "<<" would otherwise become an
// entry named "<<" or an unknown key). An alias as a whole value still works.
const mergeKeyRefused = `merge keys ("<<") are not supported; write the keys out (a whole value may still be an alias, *NAME)`

// numeric is implemented by the scalar types that are numbers written with
// an optional unit (Size): like int and float fields, they refuse a value
// written in quotes.
type numeric interface{ number() }

func (*Size) number() {}

// quoted reports whether n was written in single or double quotes: a
// string, even when its text reads as a number.
func quoted(n *node) bool { return n.style&(styleDouble|styleSingle) != 0 }

// decodeNumber stores the plain scalar n (text val) into the int or float64
// v. A quoted value is a string, not a number; negative zero ("-0",
// "-0.0") is refused so that a weight or a cap never reads back as "-0".
// Floats may carry a "%" suffix ("50%": 50); they may be NaN or infinite,
// which validation refuses where it matters, with the field's range.
func (d *decoder) decodeNumber(n *node, v reflect.Value, val string) {
	if quoted(n) {
		d.errorf(n, "expected a number, got the string %q (write it without quotes)", val)
		return
	}
	negZero := false
	switch v.Kind() {
	case reflect.Int, reflect.Int64:
		i, err := strconv.ParseInt(val, 10, 64)
		if err != nil {
			d.errorf(n, "expected a whole number, got %q", val)
			return
		}
		negZero = i == 0 && strings.HasPrefix(val, "-")
		v.SetInt(i)
	default:
		f, err := strconv.ParseFloat(strings.TrimSuffix(val, "%"), 64)
		if err != nil {
			d.errorf(n, "expected a number, got %q", val)
			return
		}
		negZero = f == 0 && math.Signbit(f)
		v.SetFloat(f)
	}
	if negZero {
		v.SetZero()
		d.errorf(n, "%q is negative zero; write 0", val)
	}
}
