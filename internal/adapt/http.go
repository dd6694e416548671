package adapt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/turnout-gw/turnout/internal/httperr"
)

// Adapting HTTP messages: the one place a request about to be sent to the
// serving version's upstream, and that upstream's answer, are rewritten
// by an adapter's programs. The proxy applies it to every request of an
// adapted version (internal/proxy), the mirror to the copies it sends to
// one (internal/mirror), so a mirrored copy is adapted exactly as a
// client's request would be.
//
// The request is read whole (up to MaxBody), rewritten by its program and
// only then sent; the answer is read whole, rewritten and only then
// handed on, so a program that fails never lets half a result through. A
// request body that is not valid JSON is the client's fault (400); one
// that cannot be adapted (not JSON, encoded, over MaxBody) passes untouched
// or is refused (413 over MaxBody, 415 otherwise) per on_unadaptable; an
// answer that cannot be adapted passes untouched or is answered 502. A
// program's own failure is answered 502.

// Request adapts out, a request of the adapted version about to be sent to
// the serving version's upstream (version prefix already set aside, not a
// stream), and returns the programs of its operation: the answer is
// adapted by their Response program (see Response). On failure out is left
// as it was and the error is a *httperr.ClientError (400, 413, 415: the
// client's) or an *httperr.Error (502, a program's failure), each wrapping
// an *Error.
func (a *Adapter) Request(out *http.Request) (*Pair, error) {
	pair := a.Select(out.Method, out.URL.Path)
	if pair.Response != nil {
		delete(out.Header, "Accept-Encoding") // an answer to adapt must come as plain JSON
	}
	p := pair.Request
	if p == nil {
		return pair, nil
	}
	body, rest, why, err := readJSON(out.Header, out.Body, out.ContentLength, a.MaxBody)
	if err != nil {
		return pair, httperr.ClientBody(err)
	}
	if why != "" {
		if a.Pass {
			out.Body = rest
			return pair, nil
		}
		status := http.StatusUnsupportedMediaType
		if strings.HasPrefix(why, "larger") {
			status = http.StatusRequestEntityTooLarge
		}
		return pair, a.Refuse(StageRequest, status, "the request body is "+why)
	}
	req := Request{Method: out.Method, Path: out.URL.Path, RawQuery: out.URL.RawQuery, Header: out.Header, Body: body}
	if err := a.AdaptRequest(out.Context(), p, &req); err != nil {
		var ae *Error
		if errors.As(err, &ae) && ae.Kind == KindBody {
			return pair, &httperr.ClientError{Status: http.StatusBadRequest, Err: err}
		}
		return pair, httperr.New(http.StatusBadGateway, err)
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
	out.Trailer, out.TransferEncoding = nil, nil
	b := req.Body
	out.ContentLength = int64(len(b))
	out.Body, out.GetBody = http.NoBody, func() (io.ReadCloser, error) { return http.NoBody, nil }
	if len(b) > 0 {
		out.Body = io.NopCloser(bytes.NewReader(b))
		out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	return pair, nil
}

// Response adapts resp, the serving upstream's answer to a request of
// method (the client's) whose programs Request returned, with pair's
// Response program (nil pair or program: resp as it is). On failure resp's
// body is closed and the error returned: an *httperr.Error (502) wrapping
// an *Error, or the error reading the answer.
func (a *Adapter) Response(ctx context.Context, pair *Pair, method string, resp *http.Response) (*http.Response, error) {
	if pair == nil || pair.Response == nil {
		return resp, nil
	}
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
		return nil, a.Refuse(StageResponse, http.StatusBadGateway, "the answer's body is "+why)
	}
	_ = resp.Body.Close()
	ar := Response{Status: resp.StatusCode, Header: resp.Header, Body: body}
	if err := a.AdaptResponse(ctx, pair.Response, &ar); err != nil {
		return nil, httperr.New(http.StatusBadGateway, err)
	}
	noBody := method == http.MethodHead || ar.Status == http.StatusNoContent || ar.Status == http.StatusNotModified
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

// Refuse is the error of a message on_unadaptable refuses: the client's on
// a request (status 413 or 415), Turnout's on an answer (502).
func (a *Adapter) Refuse(stage Stage, status int, why string) error {
	err := &Error{Version: a.Version, Stage: stage, Kind: KindUnadaptable,
		Err: errors.New(why + " and on_unadaptable is refuse")}
	if stage == StageRequest {
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
	if k, ok := body.(Kept); ok {
		if b, whole := k.Kept(); whole && int64(len(b)) <= max {
			return b, nil, "", nil // read whole already (the body source of negotiation)
		}
	}
	n := int64(bytes.MinRead)
	if length > 0 {
		n += min(length, max)
	}
	buf := bytes.NewBuffer(make([]byte, 0, min(n, 64<<10)))
	if _, err := buf.ReadFrom(io.LimitReader(body, max+1)); err != nil {
		return nil, nil, "", err
	}
	b = buf.Bytes()
	if int64(len(b)) > max {
		return nil, readCloser{io.MultiReader(bytes.NewReader(b), body), body}, fmt.Sprintf("larger than max_body (%d bytes)", max), nil
	}
	if ct == "" && len(bytes.TrimSpace(b)) > 0 {
		return nil, readCloser{bytes.NewReader(b), body}, "not declared JSON (no Content-Type)", nil
	}
	return b, nil, "", nil
}

// Kept is a body an applier already read whole into memory (to find a
// version in it); Kept returns those bytes while nothing has been read from
// it, so the adapter does not read it again.
type Kept interface {
	Kept() (b []byte, whole bool)
}

type readCloser struct {
	io.Reader
	io.Closer
}

// isJSON reports whether a media type is JSON: application/json or a
// +json type.
func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}
