package contract

import (
	"fmt"
	"strings"
)

// Level is a report item's severity, as oasdiff grades it: ERR is a
// breaking change, WARN a change that may break some clients, INFO a change
// that breaks none.
type Level int

// Levels, from least to most severe.
const (
	INFO Level = iota + 1
	WARN
	ERR
)

// String returns ERR, WARN or INFO.
func (l Level) String() string {
	switch l {
	case ERR:
		return "ERR"
	case WARN:
		return "WARN"
	case INFO:
		return "INFO"
	}
	return fmt.Sprintf("Level(%d)", int(l))
}

// MarshalText writes the level's name, so JSON carries "ERR", not 3.
func (l Level) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText reads ERR, WARN or INFO (any case; ERROR and WARNING too).
func (l *Level) UnmarshalText(b []byte) error {
	v, err := ParseLevel(string(b))
	if err != nil {
		return err
	}
	*l = v
	return nil
}

// ParseLevel reads ERR, WARN or INFO, in any case; ERROR and WARNING are
// accepted too.
func ParseLevel(s string) (Level, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "ERR", "ERROR":
		return ERR, nil
	case "WARN", "WARNING":
		return WARN, nil
	case "INFO":
		return INFO, nil
	}
	return 0, fmt.Errorf("level %q: use ERR, WARN or INFO", s)
}

// Location is a place in an OpenAPI document. Line and Column are 1-based.
type Location struct {
	File   string `json:"file"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
}

// String formats the location as FILE:LINE:COL (or FILE:LINE, or FILE).
func (l Location) String() string {
	switch {
	case l.Line > 0 && l.Column > 0:
		return fmt.Sprintf("%s:%d:%d", l.File, l.Line, l.Column)
	case l.Line > 0:
		return fmt.Sprintf("%s:%d", l.File, l.Line)
	}
	return l.File
}

// Item is one change oasdiff found between the old and the new document.
type Item struct {
	Level Level  `json:"level"`
	ID    string `json:"id"` // oasdiff's rule ID, e.g. response-property-type-changed
	// Operation is "METHOD PATH" ("" for a change outside operations, such
	// as a removed webhook or the document's version).
	Operation string `json:"operation,omitempty"`
	Message   string `json:"message"`
	// Comment is oasdiff's explanation of why the change matters, if any.
	Comment string `json:"comment,omitempty"`
	// Source is where the change is: in the new document, or in the old one
	// when the changed thing is gone from the new.
	Source *Location `json:"source,omitempty"`
}

// String formats the item on one line: LEVEL OPERATION: message [id].
func (it Item) String() string {
	op := ""
	if it.Operation != "" {
		op = it.Operation + ": "
	}
	return fmt.Sprintf("%s %s%s [%s]", it.Level, op, it.Message, it.ID)
}

// Report is the outcome of comparing two OpenAPI documents. Items are in
// oasdiff's order (by path, operation and rule). A Report is not modified
// after Compare returns and may be shared.
type Report struct {
	Old   string `json:"old"`
	New   string `json:"new"`
	Items []Item `json:"items"`
}

// Count returns how many items have exactly level l.
func (r *Report) Count(l Level) int {
	n := 0
	for _, it := range r.Items {
		if it.Level == l {
			n++
		}
	}
	return n
}

// AtLeast returns the items at level l or above, in report order.
func (r *Report) AtLeast(l Level) []Item {
	var out []Item
	for _, it := range r.Items {
		if it.Level >= l {
			out = append(out, it)
		}
	}
	return out
}

// Breaking reports whether any item is at level failOn or above: the
// documents are incompatible at that threshold.
func (r *Report) Breaking(failOn Level) bool {
	for _, it := range r.Items {
		if it.Level >= failOn {
			return true
		}
	}
	return false
}

// Summary is one line: "2 errors, 1 warning, 3 info".
func (r *Report) Summary() string {
	return fmt.Sprintf("%s, %s, %d info", plural(r.Count(ERR), "error"), plural(r.Count(WARN), "warning"), r.Count(INFO))
}

// Reason describes the first n items at failOn or above on one line, for a
// rollout held pending ("" when there are none).
func (r *Report) Reason(failOn Level, n int) string {
	br := r.AtLeast(failOn)
	if len(br) == 0 {
		return ""
	}
	parts := make([]string, 0, n)
	for i, it := range br {
		if i == n {
			parts = append(parts, fmt.Sprintf("and %d more", len(br)-n))
			break
		}
		if it.Operation != "" {
			parts = append(parts, it.Operation+": "+it.Message)
		} else {
			parts = append(parts, it.Message)
		}
	}
	return fmt.Sprintf("%s: %s", plural(len(br), "breaking change"), strings.Join(parts, "; "))
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
