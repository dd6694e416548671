package httperr

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"syscall"
)

// ClientError is a request that failed because of its client, not of an
// upstream: its body broke its framing, ended early, came too slowly or was
// too large, or the client went away while sending it. It is answered with
// Status (400, 408, 413; 499 is logged, never sent) and never counted as a
// failure of the version the request was routed to. A ClientError is
// immutable once made.
type ClientError struct {
	Status int
	Err    error
}

// Error says what the client did.
func (e *ClientError) Error() string { return "client request body: " + e.Err.Error() }

// Unwrap returns the cause.
func (e *ClientError) Unwrap() error { return e.Err }

// statuser is a body read error that carries its own answer: h1server's
// framing refusals.
type statuser interface{ HTTPStatus() int }

// ClientBody classifies err, an error reading the client's request body
// (never io.EOF): 413 for a body over a limit (*http.MaxBytesError), 408
// for a body that did not arrive in time, 499 for a client that reset or
// closed the connection, the status a framing refusal carries, and 400
// for every other body error, such as a body cut short (io.ErrUnexpectedEOF)
// or malformed chunked framing. An error that already is a *ClientError is
// returned as it is.
func ClientBody(err error) *ClientError {
	var ce *ClientError
	if errors.As(err, &ce) {
		return ce
	}
	var mb *http.MaxBytesError
	var st statuser
	var ne net.Error
	status := http.StatusBadRequest
	switch {
	case errors.As(err, &mb):
		status = http.StatusRequestEntityTooLarge
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		status = http.StatusRequestTimeout
	case errors.As(err, &st):
		status = st.HTTPStatus()
	case errors.Is(err, io.ErrUnexpectedEOF):
		status = http.StatusBadRequest
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, net.ErrClosed),
		errors.Is(err, context.Canceled), errors.Is(err, http.ErrBodyReadAfterClose):
		status = StatusClientClosed
	}
	return &ClientError{Status: status, Err: err}
}

// ClientCaused reports whether err is the client's doing, not an
// upstream's: a *ClientError, or a cancellation (the client went away).
// Such failures are never counted against a version.
func ClientCaused(err error) bool {
	var ce *ClientError
	return errors.As(err, &ce) || errors.Is(err, context.Canceled)
}
