package compare

import (
	"math"
	"math/big"
	"slices"
	"strconv"
)

// JSON numbers are kept as their text (json.Number) so no precision is lost
// decoding them: 12345678901234567890 and 12345678901234567891 differ.
//
// Two numbers are equal when they have the same value, whatever their
// spelling: 1, 1.0, 1e0 and 10e-1 are one number, and so are 0 and -0.
// Equality is decided on a canonical decimal form (sign, significant digits,
// exponent) with no arithmetic, so it is exact at any size and cheap for
// hostile input such as 1e999999999.

// decimal is a number's value as digits × 10^exp, digits without leading or
// trailing zeros ("" for zero, which is never negative).
type decimal struct {
	neg    bool
	digits []byte
	exp    int64
}

// maxExpDigits bounds the exponent literal; beyond it canon gives up and
// the numbers are compared by their text.
const maxExpDigits = 15

// canon returns the canonical form of a JSON number's text; ok is false
// when the text is not a JSON number or its exponent is too large to add.
func canon(s string, buf []byte) (d decimal, ok bool) {
	i := 0
	if i < len(s) && s[i] == '-' {
		d.neg = true
		i++
	}
	digits := buf[:0]
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		digits = append(digits, s[i])
		i++
	}
	if i == start {
		return d, false
	}
	var frac int64
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			digits = append(digits, s[i])
			frac++
			i++
		}
	}
	var exp int64
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		eneg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			eneg = s[i] == '-'
			i++
		}
		for i < len(s) && s[i] == '0' {
			i++
		}
		n := 0
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			if n++; n > maxExpDigits {
				return d, false
			}
			exp = exp*10 + int64(s[i]-'0')
		}
		if eneg {
			exp = -exp
		}
	}
	if i != len(s) {
		return d, false
	}
	for len(digits) > 0 && digits[0] == '0' {
		digits = digits[1:]
	}
	exp -= frac
	for len(digits) > 0 && digits[len(digits)-1] == '0' {
		digits = digits[:len(digits)-1]
		exp++
	}
	if len(digits) == 0 {
		return decimal{}, true
	}
	d.digits, d.exp = digits, exp
	return d, true
}

// numEqual reports whether two JSON number texts have the same value.
func numEqual(a, b string) bool {
	if a == b {
		return true
	}
	var ba, bb [32]byte
	x, okx := canon(a, ba[:])
	y, oky := canon(b, bb[:])
	return okx && oky && x.neg == y.neg && x.exp == y.exp && slices.Equal(x.digits, y.digits)
}

// tolerance is an absolute numeric tolerance for the numbers at or under
// the paths its pattern matches.
type tolerance struct {
	pat pattern
	abs float64
	rat *big.Rat // abs as the decimal the user wrote (0.3, not 0.29999…)
}

func newTolerance(p pattern, abs float64) tolerance {
	r, _ := new(big.Rat).SetString(strconv.FormatFloat(abs, 'g', -1, 64))
	return tolerance{pat: p, abs: abs, rat: r}
}

// maxExactNum bounds the texts and exponents that within handles with
// exact rational arithmetic; larger ones fall back to float64.
const maxExactNum = 10000

// within reports whether |a-b| <= t for two JSON number texts. It is exact
// (big.Rat) for numbers of reasonable size; for numbers longer than
// maxExactNum characters or with exponents beyond ±maxExactNum it uses
// float64, and an infinite value is never within tolerance.
func (t *tolerance) within(a, b string) bool {
	if exactOK(a) && exactOK(b) {
		x, okx := new(big.Rat).SetString(a)
		y, oky := new(big.Rat).SetString(b)
		if okx && oky {
			x.Sub(x, y)
			return x.Abs(x).Cmp(t.rat) <= 0
		}
	}
	x, errx := strconv.ParseFloat(a, 64)
	y, erry := strconv.ParseFloat(b, 64)
	if errx != nil || erry != nil || math.IsInf(x, 0) || math.IsInf(y, 0) {
		return false
	}
	return math.Abs(x-y) <= t.abs
}

// exactOK reports whether a number text is small enough for big.Rat.
func exactOK(s string) bool {
	if len(s) > maxExactNum {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] == 'e' || s[i] == 'E' {
			e, err := strconv.Atoi(s[i+1:])
			return err == nil && e >= -maxExactNum && e <= maxExactNum
		}
	}
	return true
}
