package config

import (
	"bytes"
	"fmt"
	"strings"
)

// misindented finds the first line at or after line from whose indentation
// matches none of the blocks that enclose it: a key indented by 3 spaces
// below keys at 4 and a parent at 2. yaml.v3 reports such a line as "did not
// find expected key" at the line where the enclosing mapping starts, which
// can be many lines above it. It returns the line, its column and the
// indentations it could have had; ok is false when every line fits (the
// problem is something else).
func misindented(data []byte, from int) (line, col int, fits []int, ok bool) {
	var stack []int // indentations of the enclosing blocks, increasing
	scalar := -1    // the indentation of a block scalar's header line, while inside it
	for i, raw := range bytes.Split(data, []byte("\n")) {
		text := strings.TrimRight(string(raw), " \t\r")
		body := strings.TrimLeft(text, " ")
		if body == "" || body[0] == '#' {
			continue
		}
		n := len(text) - len(body)
		if scalar >= 0 {
			if n > scalar {
				continue // the text of a | or > block
			}
			scalar = -1
		}
		popped := false
		for len(stack) > 0 && stack[len(stack)-1] > n {
			stack, popped = stack[:len(stack)-1], true
		}
		if len(stack) == 0 || stack[len(stack)-1] < n {
			if popped && i+1 >= from {
				return i + 1, n + 1, append([]int(nil), stack...), true
			}
			stack = append(stack, n)
		}
		if rest, isItem := strings.CutPrefix(body, "- "); isItem {
			// An item's keys continue below it at the item's content column.
			stack = append(stack, n+len(body)-len(strings.TrimLeft(rest, " ")))
		}
		if blockScalarHeader(body) {
			scalar = n
		}
	}
	return 0, 0, nil, false
}

// blockScalarHeader reports whether a line ends with a block scalar's
// header (key: |, key: >-, - |2).
func blockScalarHeader(body string) bool {
	if i := strings.Index(body, " #"); i >= 0 {
		body = strings.TrimRight(body[:i], " ")
	}
	f := strings.Fields(body)
	if len(f) == 0 {
		return false
	}
	last := f[len(f)-1]
	return len(last) <= 3 && (last[0] == '|' || last[0] == '>') && (len(f) == 1 || strings.HasSuffix(f[len(f)-2], ":") || f[len(f)-2] == "-")
}

// indentHint says which indentations would have fitted.
func indentHint(fits []int) string {
	s := make([]string, len(fits))
	for i, n := range fits {
		s[i] = fmt.Sprint(n)
	}
	switch len(s) {
	case 0:
		return "0"
	case 1:
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}
