package upstream

import (
	"errors"
	"fmt"
	"strings"
)

// ErrResponseHeaderTooLarge is wrapped by the error of a request whose
// answer's status line and headers exceeded the pool's bound
// (limits.max_response_header_bytes): the answer is dropped and the
// connection closed, before more than the bound was read.
var ErrResponseHeaderTooLarge = errors.New("upstream answer headers exceed limits.max_response_header_bytes")

// headerTooLarge wraps err, the failure of an answer whose head exceeded
// limit bytes, with ErrResponseHeaderTooLarge.
func headerTooLarge(limit int64, err error) error {
	return fmt.Errorf("%w (%d bytes): %w", ErrResponseHeaderTooLarge, limit, err)
}

// stdHeaderTooLarge reports whether err is net/http's refusal of an
// answer head over Transport.MaxResponseHeaderBytes. net/http gives that
// refusal no type (HTTP/1: a formatted error; HTTP/2: an unexported
// sentinel), so this is the one place that reads its text, turning it
// into ErrResponseHeaderTooLarge at the package boundary.
func stdHeaderTooLarge(err error) bool {
	s := err.Error()
	return strings.Contains(s, "net/http: server response headers exceeded") ||
		strings.Contains(s, "http2: response header list larger than advertised limit")
}
