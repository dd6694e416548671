package proxy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/turnout-gw/turnout/internal/adapt"
	"github.com/turnout-gw/turnout/internal/httperr"
	"github.com/turnout-gw/turnout/internal/observe"
	"github.com/turnout-gw/turnout/internal/route"
)

// Adapting a version served by another's upstream (versions.NAME.served_by
// and adapt). The request is read whole (up to the adapter's max_body),
// rewritten by its program and only then sent; the answer is read whole,
// rewritten and only then written to the client, so a program that fails
// never lets half a result through. A program's failure is Turnout's, not
// the client's: it is answered 502 with {error, version, stage, status},
// and counted against the version as a failed attempt (stats, analysis,
// turnout_adapt_failures_total). A request body that is not valid JSON is
// the client's (400); one that cannot be adapted (not JSON, encoded, over
// max_body, a stream) passes untouched or is refused (413 over max_body,
// 415 otherwise) per on_unadaptable; an answer that cannot be adapted
// passes untouched or is answered 502.

// adaptRequest rewrites out for v's adapter and picks the programs of the
// request's operation for its answer too. It returns the error to answer
// with: a *httperr.ClientError for the client's body, an *httperr.Error
// (502) wrapping an *adapt.Error for the program's failure.
func (h *Handler) adaptRequest(x *exchange, v *route.Version, out *http.Request) error {
	a := v.Adapter
	if Streamed(x.in) {
		if a.Pass {
			return nil // an upgrade or gRPC call streams through, unadapted both ways
		}
		return refuse(a, adapt.StageRequest, http.StatusUnsupportedMediaType, "a stream (protocol upgrade or gRPC) cannot be adapted")
	}
	x.adapt = a.Select(out.Method, out.URL.Path)
	if x.adapt.Response != nil {
		delete(out.Header, "Accept-Encoding") // an answer to adapt must come as plain JSON
	}
	p := x.adapt.Request
	if p == nil {
		return nil
	}
	body, rest, why, err := readJSON(out.Header, out.Body, out.ContentLength, a.MaxBody)
	if err != nil {
		return httperr.ClientBody(err)
	}
	if why != "" {
		if a.Pass {
			out.Body = rest
			return nil
		}
		status := http.StatusUnsupportedMediaType
		if strings.HasPrefix(why, "larger") {
			status = http.StatusRequestEntityTooLarge
		}
		return refuse(a, adapt.StageRequest, status, "the request body is "+why)
	}
	req := adapt.Request{Method: out.Method, Path: out.URL.Path, RawQuery: out.URL.RawQuery, Header: out.Header, Body: body}
	if err := a.AdaptRequest(out.Context(), p, &req); err != nil {
		var ae *adapt.Error
		if errors.As(err, &ae) && ae.Kind == adapt.KindBody {
			return &httperr.ClientError{Status: http.StatusBadRequest, Err: err}
		}
		err = httperr.New(http.StatusBadGateway, err)
		x.served, x.upstream = v, v.Upstream
		x.att = observe.Attempt{Service: x.d.Service.Name, Version: v.Name, Upstream: v.Upstream, Err: err}
		h.obs.Attempted(&x.att)
		return err
	}
	if req.Path != out.URL.Path {
		out.URL.Path, out.URL.RawPath = req.Path, ""
	}
	out.Method, out.URL.RawQuery = req.Method, req.RawQuery
	delete(req.Header, "Content-Length")
	delete(req.Header, "Transfer-Encoding")
	if req.Body != nil && len(req.Header["Content-Type"]) == 0 {
		req.Header["Content-Type"] = []string{"application/json"}
	}
	out.Header = req.Header
	out.Trailer = nil
	setBody(out, req.Body)
	return nil
}

// adaptResponse rewrites resp, v's answer, with the programs adaptRequest
// picked. On failure resp's body is closed and the error (502) returned.
func (h *Handler) adaptResponse(x *exchange, v *route.Version, resp *http.Response) (*http.Response, error) {
	if x.adapt == nil || x.adapt.Response == nil {
		return resp, nil
	}
	a := v.Adapter
	body, rest, why, err := readJSON(resp.Header, resp.Body, resp.ContentLength, a.MaxBody)
	if err != nil {
		_ = resp.Body.Close()
		return nil, fmt.Errorf("reading the answer to adapt: %w", err)
	}
	if why != "" {
		if a.Pass {
			resp.Body = rest
			return resp, nil
		}
		_ = rest.Close()
		return nil, refuse(a, adapt.StageResponse, http.StatusBadGateway, "the answer's body is "+why)
	}
	_ = resp.Body.Close()
	ar := adapt.Response{Status: resp.StatusCode, Header: resp.Header, Body: body}
	if err := a.AdaptResponse(x.in.Context(), x.adapt.Response, &ar); err != nil {
		return nil, httperr.New(http.StatusBadGateway, err)
	}
	noBody := x.in.Method == http.MethodHead || ar.Status == http.StatusNoContent || ar.Status == http.StatusNotModified
	if noBody {
		ar.Body = nil // these answers carry none, whatever the program made
	}
	delete(ar.Header, "Content-Length")
	delete(ar.Header, "Transfer-Encoding")
	delete(ar.Header, "Trailer")
	resp.StatusCode, resp.Status = ar.Status, strconv.Itoa(ar.Status)+" "+http.StatusText(ar.Status)
	resp.Header, resp.Trailer, resp.TransferEncoding = ar.Header, nil, nil
	resp.ContentLength = int64(len(ar.Body))
	resp.Body = http.NoBody
	if len(ar.Body) > 0 {
		resp.Body = io.NopCloser(bytes.NewReader(ar.Body))
	}
	if !noBody {
		ar.Header["Content-Length"] = []string{strconv.Itoa(len(ar.Body))}
	}
	return resp, nil
}

// refuse is the error of a body on_unadaptable refuses: the client's on a
// request (status 413 or 415), Turnout's on an answer (502).
func refuse(a *adapt.Adapter, stage adapt.Stage, status int, why string) error {
	err := &adapt.Error{Version: a.Version, Stage: stage, Kind: adapt.KindUnadaptable,
		Err: errors.New(why + " and on_unadaptable is refuse")}
	if stage == adapt.StageRequest {
		return &httperr.ClientError{Status: status, Err: err}
	}
	return httperr.New(status, err)
}

// readJSON reads a body to adapt, up to max bytes. It returns the body (nil
// for none), or why it cannot be adapted and rest, the body to forward
// untouched instead (what was read, then the rest); err is a read error.
func readJSON(h http.Header, body io.ReadCloser, length, max int64) (b []byte, rest io.ReadCloser, why string, err error) {
	if body == nil || body == http.NoBody || length == 0 {
		return nil, http.NoBody, "", nil // no body: nothing to check, the program sees null
	}
	if ce := h.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		return nil, body, "encoded (Content-Encoding " + ce + ")", nil
	}
	ct := h.Get("Content-Type")
	if ct != "" && !isJSON(ct) {
		return nil, body, "not JSON (Content-Type " + ct + ")", nil
	}
	if length > max {
		return nil, body, fmt.Sprintf("larger than max_body (%d bytes > %d)", length, max), nil
	}
	if k, ok := kept(body); ok && int64(len(k)) <= max {
		return k, nil, "", nil // read whole to decide (bodypin.go)
	}
	b, err = readBounded(body, length, max)
	if err != nil {
		return nil, nil, "", err
	}
	if int64(len(b)) > max {
		return nil, readCloser{io.MultiReader(bytes.NewReader(b), body), body}, fmt.Sprintf("larger than max_body (%d bytes)", max), nil
	}
	if ct == "" && len(bytes.TrimSpace(b)) > 0 {
		return nil, readCloser{bytes.NewReader(b), body}, "not declared JSON (no Content-Type)", nil
	}
	return b, nil, "", nil
}

// isJSON reports whether a media type is JSON: application/json or a
// +json type.
func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// adaptBody is the JSON answer of a failed adaptation.
type adaptBody struct {
	Error   string `json:"error"`
	Version string `json:"version"`
	Stage   string `json:"stage"`
	Status  int    `json:"status"`
}

// failAdapt answers a failed adaptation as JSON naming the version and
// stage, logging Turnout's own failures (at most one a second).
func (h *Handler) failAdapt(w http.ResponseWriter, x *exchange, status int, err error, ae *adapt.Error) {
	if !httperr.ClientCaused(err) {
		if now := h.now().UnixNano(); now-h.adaptLogged.Load() >= int64(time.Second) {
			h.adaptLogged.Store(now)
			h.log.Warn("adapter failed", "service", x.d.Service.Name, "version", ae.Version, "stage", ae.Stage,
				"path", x.in.URL.Path, "status", status, "error", ae.Err)
		}
	}
	b, _ := json.Marshal(adaptBody{Error: ae.Error(), Version: ae.Version, Stage: string(ae.Stage), Status: status})
	httperr.WriteJSON(w, status, append(b, '\n'))
}
