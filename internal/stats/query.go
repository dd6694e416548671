package stats

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The text form of a Query, one `q` parameter of the admin API's
// GET /api/v1/internal/stats:
//
//	SERVICE/WINDOW/SINCE[/VERSION...]
//
// WINDOW is a Go duration, SINCE Unix nanoseconds (0: no bound), and the
// versions, if any, restrict the answer to them. Service and version names
// never contain '/' (config rejects them), so '/' separates the fields.

// ErrBadQuery is wrapped by ParseQuery's errors.
var ErrBadQuery = errors.New("bad window query")

// FormatQuery returns q's text form.
func FormatQuery(q Query) string {
	var since int64
	if !q.Since.IsZero() {
		since = q.Since.UnixNano()
	}
	var b strings.Builder
	b.WriteString(q.Service)
	b.WriteByte('/')
	b.WriteString(q.Window.String())
	b.WriteByte('/')
	b.WriteString(strconv.FormatInt(since, 10))
	for _, v := range q.Versions {
		b.WriteByte('/')
		b.WriteString(v)
	}
	return b.String()
}

// ParseQuery reads a query's text form. The window must lie in [1s,
// MaxHistory]; an error wraps ErrBadQuery and says what is wrong.
func ParseQuery(s string) (Query, error) {
	parts := strings.Split(s, "/")
	if len(parts) < 3 || parts[0] == "" {
		return Query{}, fmt.Errorf("%w %q: want SERVICE/WINDOW/SINCE[/VERSION...]", ErrBadQuery, s)
	}
	q := Query{Service: parts[0]}
	w, err := time.ParseDuration(parts[1])
	if err != nil || w < time.Second || w > MaxHistory {
		return Query{}, fmt.Errorf("%w %q: window %q must be a duration from 1s to %v", ErrBadQuery, s, parts[1], MaxHistory)
	}
	q.Window = w
	since, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || since < 0 {
		return Query{}, fmt.Errorf("%w %q: since %q must be Unix nanoseconds (0: none)", ErrBadQuery, s, parts[2])
	}
	if since > 0 {
		q.Since = time.Unix(0, since)
	}
	for _, v := range parts[3:] {
		if v == "" {
			return Query{}, fmt.Errorf("%w %q: empty version name", ErrBadQuery, s)
		}
		q.Versions = append(q.Versions, v)
	}
	return q, nil
}
