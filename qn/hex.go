package qn

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"io"
	"unicode"
)

// ReadHex reads hex text, the format of the test vectors and of
// `turnout qn decode --hex`: white space anywhere is ignored, and so is
// everything from '#' to the end of a line, so a dump can be annotated.
func ReadHex(r io.Reader) ([]byte, error) {
	var digits []byte
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		text := sc.Bytes()
		if i := bytes.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		for _, c := range text {
			if !unicode.IsSpace(rune(c)) {
				digits = append(digits, c)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	out := make([]byte, hex.DecodedLen(len(digits)))
	if _, err := hex.Decode(out, digits); err != nil {
		return nil, errAt(ErrMalformed, -1, "hex: "+err.Error())
	}
	return out, nil
}
