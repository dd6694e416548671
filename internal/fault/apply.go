package fault

import (
	"context"
	"net/http"
	"strconv"
	"time"
)

// Header is the response header that marks an answer given by an injected
// abort; its value is KindAbort.
const Header = "X-Turnout-Fault"

// AbortBody is the plain-text body of the answer to a request aborted with
// status, the same from every applier.
func AbortBody(status int) string {
	return "fault injected: " + strconv.Itoa(status) + " " + http.StatusText(status) + "\n"
}

// Sleep holds a request for an injected delay d: it returns nil after d,
// or ctx's error as soon as ctx ends (a client that goes away ends the
// delay). It is the default wait of every applier.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
