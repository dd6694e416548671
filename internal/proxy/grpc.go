package proxy

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/turnout-gw/turnout/internal/httperr"
)

// grpcBody ends a gRPC response whose upstream stream fails after the
// headers were sent (a server resetting the stream at the call's deadline)
// with a gRPC status in the trailers, instead of a bare reset the client
// would read as INTERNAL or UNAVAILABLE whatever the cause.
type grpcBody struct {
	io.ReadCloser
	resp *http.Response
	h    *Handler
	x    *exchange
	r    *http.Request
}

func (b *grpcBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == nil || err == io.EOF || b.r.Context().Err() != nil || b.resp.Trailer.Get("Grpc-Status") != "" {
		return n, err
	}
	code := b.h.grpcCode(b.r, b.x, httperr.StatusOf(b.r.Context(), err))
	if b.resp.Trailer == nil {
		b.resp.Trailer = http.Header{}
	}
	b.resp.Trailer.Set("Grpc-Status", strconv.Itoa(code))
	b.resp.Trailer.Set("Grpc-Message", grpcPercentEncode("upstream "+b.x.upstream+" failed: "+err.Error()))
	return n, io.EOF
}

// gRPC status codes Turnout answers upstream failures of gRPC calls with.
const (
	grpcDeadlineExceeded = 4
	grpcUnavailable      = 14
)

// isGRPC reports whether r is a gRPC call (not gRPC-Web).
func isGRPC(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	const p = "application/grpc"
	if len(ct) < len(p) || !strings.EqualFold(ct[:len(p)], p) {
		return false
	}
	return len(ct) == len(p) || ct[len(p)] == '+' || ct[len(p)] == ';'
}

// grpcCode maps an upstream failure of a gRPC call to a gRPC status:
// DEADLINE_EXCEEDED for a timeout, or for any failure once the call's own
// grpc-timeout has run out (a gRPC server resets the stream at its deadline,
// which reaches Turnout as a stream error); UNAVAILABLE otherwise.
func (h *Handler) grpcCode(r *http.Request, x *exchange, status int) int {
	if status == http.StatusGatewayTimeout {
		return grpcDeadlineExceeded
	}
	if d, ok := grpcTimeout(r.Header.Get("Grpc-Timeout")); ok && h.now().Sub(x.start) >= d {
		return grpcDeadlineExceeded
	}
	return grpcUnavailable
}

// grpcTimeout parses a grpc-timeout header value: up to 8 digits and a unit
// (H, M, S, m, u, n).
func grpcTimeout(v string) (time.Duration, bool) {
	if len(v) < 2 || len(v) > 9 {
		return 0, false
	}
	n, err := strconv.ParseInt(v[:len(v)-1], 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	var u time.Duration
	switch v[len(v)-1] {
	case 'H':
		u = time.Hour
	case 'M':
		u = time.Minute
	case 'S':
		u = time.Second
	case 'm':
		u = time.Millisecond
	case 'u':
		u = time.Microsecond
	case 'n':
		u = time.Nanosecond
	default:
		return 0, false
	}
	return time.Duration(n) * u, true
}

// writeGRPCError answers a gRPC call with a trailers-only response carrying
// code and msg, which every gRPC client reads as the call's status (a plain
// HTTP 502/504 would reach it as UNAVAILABLE whatever the cause).
func writeGRPCError(w http.ResponseWriter, code int, msg string) {
	h := w.Header()
	h.Del("Content-Length")
	h.Set("Content-Type", "application/grpc")
	h.Set("Grpc-Status", strconv.Itoa(code))
	h.Set("Grpc-Message", grpcPercentEncode(msg))
	w.WriteHeader(http.StatusOK)
}

// grpcPercentEncode encodes a grpc-message value as the gRPC protocol
// requires: bytes outside printable ASCII, and '%', as %XX.
func grpcPercentEncode(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '%' {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
