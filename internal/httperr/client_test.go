package httperr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"syscall"
	"testing"
)

type refusal struct{ code int }

func (r refusal) Error() string   { return "refused" }
func (r refusal) HTTPStatus() int { return r.code }

// TestClientBody: each kind of client body failure gets its status, and
// StatusOf and ClientCaused see it through wrapping.
func TestClientBody(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want int
	}{
		{"too large", &http.MaxBytesError{Limit: 10}, http.StatusRequestEntityTooLarge},
		{"deadline", &net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}, http.StatusRequestTimeout},
		{"framing refusal", refusal{http.StatusBadRequest}, http.StatusBadRequest},
		{"trailers too large", refusal{http.StatusRequestHeaderFieldsTooLarge}, http.StatusRequestHeaderFieldsTooLarge},
		{"cut short", io.ErrUnexpectedEOF, http.StatusBadRequest},
		{"reset", &net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, StatusClientClosed},
		{"cancelled", context.Canceled, StatusClientClosed},
		{"net/http chunk error", errors.New("invalid byte in chunk length"), http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ce := ClientBody(tc.err)
			if ce.Status != tc.want || !errors.Is(ce, tc.err) {
				t.Errorf("ClientBody(%v) = %d (%v), want %d", tc.err, ce.Status, ce, tc.want)
			}
			wrapped := fmt.Errorf("sending: %w", ce)
			if got := StatusOf(context.Background(), wrapped); got != tc.want {
				t.Errorf("StatusOf = %d, want %d", got, tc.want)
			}
			if !ClientCaused(wrapped) || ClientBody(wrapped) != ce {
				t.Error("the wrapped client error is not recognised")
			}
		})
	}
	if ClientCaused(errors.New("connection refused")) {
		t.Error("an upstream error counted as the client's")
	}
}
