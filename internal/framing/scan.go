package framing

import (
	"bytes"
	"strings"
)

// Reasons a request is refused: the `reason` of the guard's report.
const (
	ReasonCLAndTE      = "content_length_and_transfer_encoding"
	ReasonCLConflict   = "content_length_conflict"
	ReasonCLInvalid    = "content_length_invalid"
	ReasonTE           = "transfer_encoding"
	ReasonTEOnHTTP10   = "transfer_encoding_http10"
	ReasonFolded       = "folded_header"
	ReasonBareLF       = "bare_lf"
	ReasonLongLine     = "framing_line_too_long"
	ReasonChunk        = "chunk_framing"
	ReasonSpaceBefore  = "space_before_colon"
	maxFramingLine     = 8 << 10 // a Content-Length, Transfer-Encoding or chunk-size line
	maxChunkSizeDigits = 16
)

type state uint8

const (
	stRequestLine state = iota // before and in a request line
	stHeader                   // in a header block
	stBody                     // skipping a Content-Length body
	stChunkSize                // in a chunk-size line
	stChunkData                // skipping chunk data
	stChunkCR                  // expecting CR after chunk data
	stChunkLF                  // expecting LF after chunk data
	stTrailer                  // in the trailer block of a chunked body
	stOff                      // not HTTP/1 any more: pass everything
)

// scanner follows the framing of one connection's requests.
type scanner struct {
	st     state
	line   []byte // the current line, up to maxFramingLine bytes
	long   bool   // the current line is longer than what line kept
	cr     bool   // the last byte of the current line so far is CR
	remain uint64 // body or chunk bytes left

	// The current request.
	http10   bool
	stopNext bool // an Upgrade or CONNECT: stop after its header block
	cl       string
	hasCL    bool
	te       int
	teValue  string
}

// feed follows p and returns the reason to refuse the request it belongs
// to, or "".
func (s *scanner) feed(p []byte) string {
	for len(p) > 0 {
		switch s.st {
		case stOff:
			return ""
		case stBody, stChunkData:
			n := uint64(len(p))
			if n > s.remain {
				n = s.remain
			}
			s.remain -= n
			p = p[n:]
			if s.remain == 0 {
				if s.st == stBody {
					s.st = stRequestLine
				} else {
					s.st = stChunkCR
				}
			}
		case stChunkCR, stChunkLF:
			want := byte('\r')
			if s.st == stChunkLF {
				want = '\n'
			}
			if p[0] != want {
				return ReasonChunk
			}
			p = p[1:]
			if s.st == stChunkCR {
				s.st = stChunkLF
			} else {
				s.st = stChunkSize
			}
		default: // line states
			i := bytes.IndexByte(p, '\n')
			if i < 0 {
				s.keep(p)
				if s.st == stChunkSize && len(s.line) >= maxFramingLine {
					return ReasonLongLine
				}
				return ""
			}
			var line []byte
			if len(s.line) == 0 && !s.long { // the whole line is in p: no copy
				line = p[:i]
				s.cr = len(line) > 0 && line[len(line)-1] == '\r'
				if len(line) > maxFramingLine {
					line, s.long = line[:maxFramingLine], true
				}
			} else {
				s.keep(p[:i])
				line = s.line
			}
			p = p[i+1:]
			switch {
			case !s.cr && (s.st != stRequestLine || len(line) > 0 || s.long): // a lone LF between requests is tolerated
				return ReasonBareLF
			case s.cr && !s.long:
				line = line[:len(line)-1]
			}
			reason := s.endLine(line)
			s.line, s.long, s.cr = s.line[:0], false, false
			if reason != "" {
				return reason
			}
		}
	}
	return ""
}

// keep appends seg to the current line, up to what is worth keeping.
func (s *scanner) keep(seg []byte) {
	if len(seg) > 0 {
		s.cr = seg[len(seg)-1] == '\r'
	}
	if s.line == nil {
		s.line = make([]byte, 0, 128)
	}
	room := maxFramingLine - len(s.line)
	if room <= 0 {
		s.long = true
		return
	}
	if len(seg) > room {
		seg, s.long = seg[:room], true
	}
	s.line = append(s.line, seg...)
}

// endLine handles one complete line (without its line end).
func (s *scanner) endLine(line []byte) string {
	switch s.st {
	case stRequestLine:
		if len(line) == 0 {
			return "" // empty lines before a request line are ignored (RFC 9112 2.2)
		}
		s.startRequest(line)
	case stHeader:
		if len(line) == 0 {
			return s.endHeader()
		}
		return s.header(line)
	case stChunkSize:
		if s.long {
			return ReasonLongLine
		}
		size, ok := parseChunkSize(line)
		if !ok {
			return ReasonChunk
		}
		if size == 0 {
			s.st = stTrailer
		} else {
			s.st, s.remain = stChunkData, size
		}
	case stTrailer:
		if len(line) == 0 {
			s.st = stRequestLine
		} else if line[0] == ' ' || line[0] == '\t' {
			return ReasonFolded
		}
	}
	return ""
}

func (s *scanner) startRequest(line []byte) {
	s.st = stHeader
	s.http10, s.stopNext, s.cl, s.hasCL, s.te, s.teValue = false, false, "", false, 0, ""
	if bytes.HasPrefix(line, []byte("PRI * HTTP/2.0")) {
		s.st = stOff // h2c with prior knowledge
		return
	}
	if bytes.HasPrefix(line, []byte("CONNECT ")) {
		s.stopNext = true
	}
	// The protocol is the last token; a long request line keeps only its
	// start, so HTTP/1.0 is recognised only on lines that fit.
	if !s.long && bytes.HasSuffix(line, []byte(" HTTP/1.0")) {
		s.http10 = true
	}
}

// header looks at one header line of the request.
func (s *scanner) header(line []byte) string {
	if line[0] == ' ' || line[0] == '\t' {
		return ReasonFolded
	}
	colon := bytes.IndexByte(line, ':')
	if colon < 0 {
		return "" // net/http refuses it
	}
	name := line[:colon]
	trimmed := name
	for len(trimmed) > 0 && (trimmed[len(trimmed)-1] == ' ' || trimmed[len(trimmed)-1] == '\t') {
		trimmed = trimmed[:len(trimmed)-1]
	}
	isCL := asciiEqualFold(trimmed, "content-length")
	isTE := asciiEqualFold(trimmed, "transfer-encoding")
	if !isCL && !isTE {
		if asciiEqualFold(trimmed, "upgrade") {
			s.stopNext = true
		}
		return ""
	}
	if len(trimmed) != len(name) {
		return ReasonSpaceBefore
	}
	if s.long {
		return ReasonLongLine
	}
	value := strings.Trim(string(line[colon+1:]), " \t")
	if isCL {
		if value == "" || strings.Trim(value, "0123456789") != "" || len(value) > 18 {
			return ReasonCLInvalid
		}
		if s.hasCL && value != s.cl {
			return ReasonCLConflict
		}
		s.cl, s.hasCL = value, true
		return ""
	}
	s.te++
	s.teValue = value
	return ""
}

// endHeader decides the request's framing at the end of its header block.
func (s *scanner) endHeader() string {
	switch {
	case s.te > 0 && s.hasCL:
		return ReasonCLAndTE
	case s.te > 0 && s.http10:
		return ReasonTEOnHTTP10
	case s.te > 1 || s.te == 1 && !strings.EqualFold(s.teValue, "chunked"):
		return ReasonTE
	}
	switch {
	case s.stopNext:
		s.st = stOff
	case s.te == 1:
		s.st = stChunkSize
	case s.hasCL && s.cl != "0" && strings.TrimLeft(s.cl, "0") != "":
		s.st, s.remain = stBody, parseDigits(s.cl)
	default:
		s.st = stRequestLine
	}
	return ""
}

func parseDigits(v string) uint64 {
	var n uint64
	for i := 0; i < len(v); i++ {
		n = n*10 + uint64(v[i]-'0')
	}
	return n
}

// parseChunkSize parses a chunk-size line as net/http does: trailing
// spaces and tabs and any extension after ';' ignored, then 1 to 16 hex
// digits.
func parseChunkSize(line []byte) (uint64, bool) {
	line = bytes.TrimRight(line, " \t")
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		line = bytes.TrimRight(line[:i], " \t")
	}
	if len(line) == 0 || len(line) > maxChunkSizeDigits {
		return 0, false
	}
	var n uint64
	for _, c := range line {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		n = n<<4 | uint64(c)
	}
	return n, true
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}
