// Package httperr owns Turnout's one typed HTTP error and the one function
// that maps upstream failures to a status (502, 504, or 499 when the client
// went away), and ClientError, the failures that are the client's doing
// (400, 408, 413, 499) and never count against a version. The data plane, the middleware and the admin API all answer
// errors through it, as JSON.
package httperr

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
)

// StatusClientClosed is logged (never sent) when the client cancelled.
const StatusClientClosed = 499

// Error is an error with the HTTP status it should be answered with.
type Error struct {
	Status int
	Err    error
}

// New returns an *Error with status wrapping err.
func New(status int, err error) *Error { return &Error{Status: status, Err: err} }

// Error returns the wrapped error's text.
func (e *Error) Error() string {
	if e.Err == nil {
		return http.StatusText(e.Status)
	}
	return e.Err.Error()
}

// Unwrap returns the wrapped error.
func (e *Error) Unwrap() error { return e.Err }

// StatusOf returns the status err should be answered with: an *Error's or
// a *ClientError's own status; 499 when ctx (the client's) was cancelled;
// 504 for timeouts; 502 for every other upstream failure.
func StatusOf(ctx context.Context, err error) int {
	var he *Error
	if errors.As(err, &he) {
		return he.Status
	}
	var ce *ClientError
	if errors.As(err, &ce) {
		return ce.Status
	}
	if ctx != nil && errors.Is(ctx.Err(), context.Canceled) {
		return StatusClientClosed
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return http.StatusGatewayTimeout
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return http.StatusGatewayTimeout
	}
	if errors.Is(err, context.Canceled) {
		return StatusClientClosed
	}
	return http.StatusBadGateway
}

// Body is the JSON shape of every error Turnout answers itself.
type Body struct {
	Error  string `json:"error"`
	Status int    `json:"status"`
}

// Write answers status with a JSON body carrying msg. A 499 writes nothing:
// the client is gone.
func Write(w http.ResponseWriter, status int, msg string) {
	if status == StatusClientClosed {
		return
	}
	b, _ := json.Marshal(Body{Error: msg, Status: status})
	WriteJSON(w, status, append(b, '\n'))
}

// WriteJSON answers status with a JSON body as given.
func WriteJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Content-Length")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
