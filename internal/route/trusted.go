package route

// Removed is the set of kinds of colour a trust policy (internal/trust)
// removed from an untrusted request before it was decided: a bit set of
// the Removed* values. The zero value removed nothing.
type Removed uint8

// The kinds of colour a trust policy removes; String gives each its label
// (the `source` label of turnout_untrusted_colour_total).
const (
	// RemovedHeader: a colour header (a rule's or trust.strip's).
	RemovedHeader Removed = 1 << iota
	// RemovedCookie: a colour cookie.
	RemovedCookie
	// RemovedQuery: a colour query parameter.
	RemovedQuery
	// RemovedPin: a version pin of a service that refuses untrusted pins;
	// the request was decided again without it.
	RemovedPin
	// RemovedSignature: a colour signature that did not verify.
	RemovedSignature

	removedKinds = 5
)

var removedLabels = [removedKinds]string{"header", "cookie", "query", "pin", "signature"}

// RemovedKinds lists every single kind of removed colour, in label order.
var RemovedKinds = []Removed{RemovedHeader, RemovedCookie, RemovedQuery, RemovedPin, RemovedSignature}

// Has reports whether every kind in k was removed.
func (r Removed) Has(k Removed) bool { return r&k == k }

// String returns the label of a single kind ("header", "pin", ...), the
// labels of a set joined by commas, or "" for none.
func (r Removed) String() string {
	out := ""
	for i, label := range removedLabels {
		if r&(1<<i) == 0 {
			continue
		}
		if out != "" {
			out += ","
		}
		out += label
	}
	return out
}
