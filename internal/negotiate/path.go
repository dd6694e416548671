package negotiate

// SplitPathVersion sets aside a leading version segment of path:
//
//	"/v2/users/1" -> ("v2", "/users/1", true)
//	"/v2.1/users" -> ("v2.1", "/users", true)
//	"/v2"         -> ("v2", "/", true)
//	"/users"      -> ("", "/users", false)
//	"/version/x"  -> ("", "/version/x", false)
//
// A version segment is 'v' or 'V' followed by one to three dot-separated
// decimal numbers. When there is none, rest is path unchanged. The results are
// substrings of path; SplitPathVersion does not allocate.
func SplitPathVersion(path string) (version, rest string, ok bool) {
	if len(path) < 3 || path[0] != '/' || (path[1] != 'v' && path[1] != 'V') {
		return "", path, false
	}
	end := 1
	for end < len(path) && path[end] != '/' {
		end++
	}
	seg := path[1:end]
	if !isPathVersion(seg) {
		return "", path, false
	}
	if end == len(path) {
		return seg, "/", true
	}
	return seg, path[end:], true
}

// isPathVersion reports whether seg is [vV]N(.N){0,2} with N non-empty runs of
// decimal digits.
func isPathVersion(seg string) bool {
	if len(seg) < 2 || (seg[0] != 'v' && seg[0] != 'V') {
		return false
	}
	parts, digits := 1, 0
	for i := 1; i < len(seg); i++ {
		switch c := seg[i]; {
		case '0' <= c && c <= '9':
			digits++
		case c == '.' && digits > 0 && parts < 3:
			parts++
			digits = 0
		default:
			return false
		}
	}
	return digits > 0
}
