package compare

import (
	"bytes"
	"strconv"
	"unicode/utf8"
)

// Missing stands for a value that one side does not have: an object key,
// an array element or a header. It is not JSON, so it cannot be mistaken
// for the string "<missing>", which renders with its quotes.
const Missing = "<missing>"

// maxValue is how many bytes of a rendered value a Diff keeps; longer
// values are cut at a character boundary and end in "...".
const maxValue = 200

// render writes a value of d compactly, object keys sorted (as parsed),
// numbers as they were written, no HTML escaping; nil is Missing. It stops
// soon after maxValue bytes, so a large subtree costs little to render.
func render(d *doc, n *node) string {
	if n == nil {
		return Missing
	}
	return string(cut(appendValue(make([]byte, 0, 64), d, n)))
}

func cut(b []byte) []byte {
	if len(b) <= maxValue {
		return b
	}
	i := maxValue
	for i > 0 && !utf8.RuneStart(b[i]) {
		i--
	}
	return append(b[:i], "..."...)
}

func appendValue(b []byte, d *doc, n *node) []byte {
	if len(b) > maxValue {
		return b
	}
	switch n.kind {
	case kNull:
		return append(b, "null"...)
	case kFalse:
		return append(b, "false"...)
	case kTrue:
		return append(b, "true"...)
	case kNum:
		return append(b, n.text...)
	case kStr:
		return appendString(b, n.text)
	}
	open, closing := byte('['), byte(']')
	if n.kind == kObj {
		open, closing = '{', '}'
	}
	b = append(b, open)
	kids := d.children(n)
	for i := range kids {
		if len(b) > maxValue {
			return b
		}
		if i > 0 {
			b = append(b, ',')
		}
		if n.kind == kObj {
			b = appendString(b, kids[i].key)
			b = append(b, ':')
		}
		b = appendValue(b, d, &kids[i])
	}
	return append(b, closing)
}

const hexDigits = "0123456789abcdef"

// appendString quotes s as a JSON string. Bytes that are not UTF-8 become
// \ufffd, as encoding/json does.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		if len(b) > maxValue+8 {
			b = append(b, "..."...) // a long string stops here; callers cut()
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20 || c == 0x7f:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// excerptBefore is how many bytes before the first difference an excerpt
// of a non-JSON body shows.
const excerptBefore = 40

// renderBytes describes a non-JSON body around offset at, where it first
// differs from the other side: its length, whether it was truncated, and a
// quoted excerpt, e.g. `1234 bytes, from byte 960: "…"` or `0 bytes`.
func renderBytes(body []byte, truncated bool, at int) string {
	b := strconv.AppendInt(make([]byte, 0, 96), int64(len(body)), 10)
	b = append(b, " bytes"...)
	if truncated {
		b = append(b, " (truncated)"...)
	}
	if len(body) == 0 {
		return string(b)
	}
	start := max(0, min(at, len(body))-excerptBefore)
	for start > 0 && !utf8.RuneStart(body[start]) {
		start--
	}
	if start > 0 {
		b = append(b, ", from byte "...)
		b = strconv.AppendInt(b, int64(start), 10)
	}
	b = append(b, ": "...)
	end := min(len(body), start+maxValue-len(b)-2)
	for end < len(body) && end > start && !utf8.RuneStart(body[end]) {
		end--
	}
	q := appendString(nil, string(body[start:end]))
	if end < len(body) && !bytes.HasSuffix(q, []byte(`..."`)) {
		q = append(q[:len(q)-1], `..."`...)
	}
	return string(append(b, q...))
}

// renderHeader renders a header's values: Missing when absent, a JSON
// string for one value and an array of strings for several.
func renderHeader(vals []string) string {
	switch len(vals) {
	case 0:
		return Missing
	case 1:
		return string(cut(appendString(nil, vals[0])))
	}
	b := []byte{'['}
	for i, v := range vals {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, v)
		if len(b) > maxValue {
			break
		}
	}
	return string(cut(append(b, ']')))
}
