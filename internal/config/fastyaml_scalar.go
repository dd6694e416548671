package config

import (
	"strconv"
	"strings"
	"time"
)

// scalar parses the node at the cursor on the current line: a flow
// collection, a quoted scalar or a plain scalar (in a flow collection when
// flow is true). It leaves the cursor after the node.
func (p *fastParser) scalar(flow bool) node {
	switch c := p.src[p.pos]; {
	case c == '{':
		return p.flowMapping()
	case c == '[':
		return p.flowSequence()
	case c == '\'' || c == '"':
		return p.quoted()
	case !p.plainStart(flow):
		p.bail()
	}
	start := p.pos
	end := p.plainEnd(flow)
	v := p.src[start:end]
	n := p.newNode(scalarNode, plainTag(v), start)
	n.vs, n.ve = int32(start), int32(end)
	return n
}

// plainStart reports whether a plain scalar may start at the cursor (more
// strictly than YAML: never with '?' or ':').
func (p *fastParser) plainStart(flow bool) bool {
	switch c := p.src[p.pos]; c {
	case '-':
		if p.pos+1 == p.end {
			return false
		}
		switch p.src[p.pos+1] {
		case ' ':
			return false
		case ',', '[', ']', '{', '}':
			return !flow
		}
		return true
	case ' ', '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`':
		return false
	}
	return true
}

// plainEnd moves the cursor to where the plain scalar at the cursor ends (a
// ": ", " #", the end of the line or, in a flow collection, one of ",[]{}?")
// and returns the offset after its last character.
func (p *fastParser) plainEnd(flow bool) int {
	src := p.src
	i, last := p.pos, p.pos
	for ; i < p.end; i++ {
		switch c := src[i]; {
		case c == ' ':
			continue
		case c == '#' && src[i-1] == ' ':
			p.pos = i
			return last
		case c == ':' && (i+1 == p.end || src[i+1] == ' '):
			p.pos = i
			return last
		case flow && (c == ',' || c == '[' || c == ']' || c == '{' || c == '}' || c == '?'):
			p.pos = i
			return last
		}
		last = i + 1
	}
	p.pos = i
	return last
}

// quotedEnd moves the cursor past the quoted scalar at it, which must close
// on this line (and, double-quoted, hold no escapes).
func (p *fastParser) quotedEnd() bool {
	q := p.src[p.pos]
	for i := p.pos + 1; i < p.end; i++ {
		switch c := p.src[i]; {
		case c == '\\' && q == '"':
			return false
		case c == q && q == '\'' && i+1 < p.end && p.src[i+1] == '\'':
			i++
		case c == q:
			p.pos = i + 1
			return true
		}
	}
	return false
}

func (p *fastParser) quoted() node {
	start := p.pos
	if !p.quotedEnd() {
		p.bail()
	}
	n := p.newNode(scalarNode, tagStr, start)
	n.vs, n.ve = int32(start+1), int32(p.pos-1)
	n.style = styleDouble
	if p.src[start] == '\'' {
		n.style = styleSingle
		if v := p.src[n.vs:n.ve]; strings.Contains(v, "''") {
			n.vs = int32(len(p.src) + p.extra.Len())
			p.extra.WriteString(strings.ReplaceAll(v, "''", "'"))
			n.ve = int32(len(p.src) + p.extra.Len())
		}
	}
	return n
}

// flowSequence parses [a, b, ...], which must close on this line.
func (p *fastParser) flowSequence() node {
	n := p.newNode(sequenceNode, tagSeq, p.pos)
	n.style = styleFlow
	p.pos++
	base := len(p.kids)
	for {
		p.skipSpaces()
		if p.pos == p.end {
			p.bail()
		}
		if p.src[p.pos] == ']' {
			break
		}
		p.kids = append(p.kids, p.scalar(true))
		if !p.flowNext(']') {
			break
		}
	}
	p.pos++
	n.first, n.n = p.collect(base)
	return n
}

// flowMapping parses {k: v, ...}, which must close on this line.
func (p *fastParser) flowMapping() node {
	n := p.newNode(mappingNode, tagMap, p.pos)
	n.style = styleFlow
	p.pos++
	base := len(p.kids)
	for {
		p.skipSpaces()
		if p.pos == p.end {
			p.bail()
		}
		if p.src[p.pos] == '}' {
			break
		}
		keyAt := p.pos
		k := p.scalar(true)
		p.skipSpaces()
		if k.kind != scalarNode || p.pos-keyAt > 1024 || p.pos+1 >= p.end || p.src[p.pos] != ':' || p.src[p.pos+1] != ' ' {
			p.bail()
		}
		p.pos++
		p.skipSpaces()
		if p.pos == p.end {
			p.bail()
		}
		var v node
		if c := p.src[p.pos]; c == ',' || c == '}' {
			v = p.newNode(scalarNode, tagNull, p.pos)
		} else {
			v = p.scalar(true)
		}
		p.kids = append(p.kids, k, v)
		if !p.flowNext('}') {
			break
		}
	}
	p.pos++
	n.first, n.n = p.collect(base)
	return n
}

// flowNext skips to the ',' (true) or the closing bracket (false) after a
// flow entry.
func (p *fastParser) flowNext(closing byte) bool {
	p.skipSpaces()
	if p.pos == p.end {
		p.bail()
	}
	switch p.src[p.pos] {
	case ',':
		p.pos++
		return true
	case closing:
		return false
	}
	p.bail()
	return false
}

// plainTag is the tag yaml.v3 resolves a plain scalar to (its resolve
// function, reduced to the tag).
func plainTag(s string) nodeTag {
	if s == "<<" {
		return tagMerge
	}
	c := s[0]
	digit := c >= '0' && c <= '9'
	switch {
	case digit || c == '+' || c == '-':
	case c == '.':
		switch s {
		case ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF":
			return tagFloat
		}
		if _, err := strconv.ParseFloat(s, 64); err == nil {
			return tagFloat
		}
		return tagStr
	case strings.IndexByte("yYnNtTfFoO~", c) >= 0:
		switch s {
		case "true", "True", "TRUE", "false", "False", "FALSE":
			return tagBool
		case "~", "null", "Null", "NULL":
			return tagNull
		}
		return tagStr
	default:
		return tagStr
	}
	switch s {
	case "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF":
		return tagFloat
	}
	if digit && isTimestamp(s) {
		return tagTimestamp
	}
	plain := strings.ReplaceAll(s, "_", "")
	if _, err := strconv.ParseInt(plain, 0, 64); err == nil {
		return tagInt
	}
	if _, err := strconv.ParseUint(plain, 0, 64); err == nil {
		return tagInt
	}
	if yamlStyleFloat(plain) {
		if _, err := strconv.ParseFloat(plain, 64); err == nil {
			return tagFloat
		}
	}
	for _, pre := range []struct {
		prefix string
		base   int
	}{{"0b", 2}, {"-0b", 2}, {"0o", 8}, {"-0o", 8}} {
		if !strings.HasPrefix(plain, pre.prefix) {
			continue
		}
		digits := plain[len(pre.prefix):]
		if pre.prefix[0] == '-' {
			if _, err := strconv.ParseInt("-"+digits, pre.base, 64); err == nil {
				return tagInt
			}
			continue
		}
		if _, err := strconv.ParseInt(digits, pre.base, 64); err == nil {
			return tagInt
		}
		if _, err := strconv.ParseUint(digits, pre.base, 64); err == nil {
			return tagInt
		}
	}
	return tagStr
}

// yamlStyleFloat matches ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$.
func yamlStyleFloat(s string) bool {
	digits := func(i int) int {
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i
	}
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	if i < len(s) && s[i] == '.' {
		j := digits(i + 1)
		if j == i+1 {
			return false
		}
		i = j
	} else {
		j := digits(i)
		if j == i {
			return false
		}
		i = j
		if i < len(s) && s[i] == '.' {
			i = digits(i + 1)
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '-' || s[i] == '+') {
			i++
		}
		j := digits(i)
		if j == i {
			return false
		}
		i = j
	}
	return i == len(s)
}

// isTimestamp reports whether yaml.v3 reads s as a timestamp.
func isTimestamp(s string) bool {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i != 4 || i == len(s) || s[i] != '-' {
		return false
	}
	for _, format := range []string{"2006-1-2T15:4:5.999999999Z07:00", "2006-1-2t15:4:5.999999999Z07:00", "2006-1-2 15:4:5.999999999", "2006-1-2"} {
		if _, err := time.Parse(format, s); err == nil {
			return true
		}
	}
	return false
}
