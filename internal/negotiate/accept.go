package negotiate

import "strings"

// acceptRange is one parsed media range of an Accept header.
type acceptRange struct {
	version string // version carried by the range, without a leading 'v'
	carries bool   // the range carries a version
	q       int    // weight in thousandths, 0..1000
}

// acceptVersion scans the Accept header lines and returns the version carried
// by the highest-weighted media range that carries one; ties go to the range
// listed first, and ranges with q=0 are excluded. It works on substrings of
// the input and does not allocate.
func (n *Negotiator) acceptVersion(lines []string) (string, bool, error) {
	best, bestQ := "", 0
	for _, line := range lines {
		for i := 0; i < len(line); {
			var ar acceptRange
			var err error
			ar, i, err = n.parseRange(line, i)
			if err != nil {
				return "", false, err
			}
			if ar.carries && ar.q > bestQ {
				best, bestQ = ar.version, ar.q
			}
		}
	}
	return best, bestQ > 0, nil
}

// parseRange parses the media range starting at s[i:] (leading whitespace and
// empty list elements are skipped) and returns it with the index just past it.
// A range that carries no version is returned with carries=false; its
// parameters are not validated.
func (n *Negotiator) parseRange(s string, i int) (acceptRange, int, error) {
	var ar acceptRange
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == ',') {
		i++
	}
	if i >= len(s) {
		return ar, i, nil
	}
	start := i
	for i < len(s) && s[i] != ';' && s[i] != ',' {
		i++
	}
	typ := trimOWS(s[start:i])

	var (
		vendorSeen           bool
		qText, pv            string
		qSeen, qBad          bool
		pvSeen, pvBad        bool
		name, val            string
		quoted, unterminated bool
	)
	if v, ok := n.vendorVersion(typ); ok {
		vendorSeen = true
		ar.version = v
	}
	for i < len(s) && s[i] == ';' {
		name, val, quoted, unterminated, i = parseParam(s, i+1)
		switch {
		case len(name) == 1 && (name[0] == 'q' || name[0] == 'Q'):
			if !qSeen {
				qSeen, qText, qBad = true, val, quoted || unterminated
			}
		case strings.EqualFold(name, "version"):
			if !pvSeen {
				pvSeen, pv, pvBad = true, trimOWS(val), unterminated
			}
		}
	}
	if i < len(s) { // at ','
		i++
	}

	switch {
	case vendorSeen:
		if !validVersion(ar.version) {
			return ar, i, ErrMalformed
		}
	case pvSeen:
		if pvBad || !validVersion(pv) {
			return ar, i, ErrMalformed
		}
		ar.version = pv
	default:
		return ar, i, nil
	}
	ar.carries = true
	ar.q = 1000
	if qSeen {
		q, ok := parseQ(qText)
		if !ok || qBad {
			return ar, i, ErrMalformed
		}
		ar.q = q
	}
	return ar, i, nil
}

// parseParam parses one parameter (`name=value` or `name="value"`) starting
// at s[i:], just after its ';'. It returns the index of the next ';' or ','
// (or len(s)). A parameter without '=' yields an empty name and is ignored by
// the caller. For a quoted value the text between the quotes is returned as
// is (backslash escapes are skipped over but not decoded); unterminated
// reports a missing closing quote, in which case the value runs to the end
// of s.
func parseParam(s string, i int) (name, val string, quoted, unterminated bool, next int) {
	start := i
	for i < len(s) && s[i] != '=' && s[i] != ';' && s[i] != ',' {
		i++
	}
	if i >= len(s) || s[i] != '=' {
		return "", "", false, false, i
	}
	name = trimOWS(s[start:i])
	i++
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	if i < len(s) && s[i] == '"' {
		quoted = true
		i++
		vs := i
		for i < len(s) && s[i] != '"' {
			if s[i] == '\\' && i+1 < len(s) {
				i++
			}
			i++
		}
		if i >= len(s) {
			return name, s[vs:], true, true, len(s)
		}
		val = s[vs:i]
		i++
		// Anything between the closing quote and the next delimiter is ignored.
		for i < len(s) && s[i] != ';' && s[i] != ',' {
			i++
		}
		return name, val, true, false, i
	}
	vs := i
	for i < len(s) && s[i] != ';' && s[i] != ',' {
		i++
	}
	return name, trimOWS(s[vs:i]), false, false, i
}

// vendorVersion reports whether typ is <vendor>.v<VERSION>[+suffix]
// (case-insensitive) and returns the VERSION part, which may be empty or
// invalid; the caller validates it.
func (n *Negotiator) vendorVersion(typ string) (string, bool) {
	p := n.vendor
	if p == "" || len(typ) < len(p)+2 || !strings.EqualFold(typ[:len(p)], p) {
		return "", false
	}
	rest := typ[len(p):]
	if rest[0] != '.' || (rest[1] != 'v' && rest[1] != 'V') {
		return "", false
	}
	rest = rest[2:]
	if j := strings.IndexByte(rest, '+'); j >= 0 {
		rest = rest[:j]
	}
	// A vendor version starts with a digit or a range operator:
	// application/vnd.example.video+json is another media type of the
	// vendor, not version "ideo".
	if rest != "" && (rest[0] < '0' || rest[0] > '9') && !strings.ContainsRune("^~<>=*", rune(rest[0])) {
		return "", false
	}
	return rest, true
}

// validVersion reports whether v is a non-empty string of the characters a
// version or range may contain: [0-9A-Za-z.^~*<>=| -].
func validVersion(v string) bool {
	if v == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case '0' <= c && c <= '9', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case c == '.', c == '^', c == '~', c == '*', c == '<', c == '>', c == '=', c == '|', c == ' ', c == '-':
		default:
			return false
		}
	}
	return true
}

// parseQ parses an RFC 9110 qvalue ("0", "0.5", "1.000", ...) into
// thousandths.
func parseQ(s string) (int, bool) {
	if s == "" || (s[0] != '0' && s[0] != '1') {
		return 0, false
	}
	whole := int(s[0]-'0') * 1000
	if len(s) == 1 {
		return whole, true
	}
	if s[1] != '.' || len(s) > 5 {
		return 0, false
	}
	frac, scale := 0, 100
	for i := 2; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' || (whole == 1000 && c != '0') {
			return 0, false
		}
		frac += int(c-'0') * scale
		scale /= 10
	}
	return whole + frac, true
}
