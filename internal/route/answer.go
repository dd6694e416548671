package route

import (
	"net/http"

	"github.com/turnout-gw/turnout/internal/httperr"
)

// WriteAnswer writes the answer Turnout gives itself for a decision whose
// Status is not 0: 404 (no service), 400 (malformed version), 406 (with the
// JSON list of versions), 410 (with the gone version's lifecycle headers)
// and 308 (Location at the successor). The proxy and the in-process
// middleware both answer through it, so the two cannot drift apart.
func (d *Decision) WriteAnswer(w http.ResponseWriter, r *http.Request) {
	switch d.Status {
	case http.StatusNotAcceptable:
		httperr.WriteJSON(w, d.Status, d.Service.NotAcceptableBody(d.Requested))
	case http.StatusPermanentRedirect:
		w.Header().Set("Location", d.RedirectLocation(r))
		httperr.Write(w, d.Status, d.AnswerMessage())
	case http.StatusGone:
		d.SetLifecycleHeaders(w.Header(), r)
		httperr.Write(w, d.Status, d.AnswerMessage())
	default:
		httperr.Write(w, d.Status, d.AnswerMessage())
	}
}

// AnswerMessage is the human-readable reason of a decision whose Status is
// not 0: the error text of WriteAnswer's JSON body, and the status message
// the gRPC interceptors answer with.
func (d *Decision) AnswerMessage() string {
	switch d.Status {
	case http.StatusNotAcceptable:
		return "version " + d.Requested + " of " + d.Service.Name + " is not available: " + errText(d.Err)
	case http.StatusPermanentRedirect:
		return "version " + d.Version.Name + " has moved to " + d.Version.Successor.Name
	case http.StatusGone:
		return "version " + d.Version.Name + " of " + d.Service.Name + " is gone"
	case http.StatusBadRequest:
		return "invalid version request: " + errText(d.Err)
	default:
		return errText(d.Err)
	}
}

// SetServedHeaders adds the headers of an answer served by version served
// for decision d: X-Served-Version and served's lifecycle headers
// (Deprecation, Sunset, the successor Link). served may differ from
// d.Version when the request fell back.
func (d *Decision) SetServedHeaders(h http.Header, r *http.Request, served *Version) {
	h["X-Served-Version"] = served.NameHeader()
	sd := *d
	sd.Version = served
	sd.SetLifecycleHeaders(h, r)
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
