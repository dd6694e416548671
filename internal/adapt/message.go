package adapt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/textproto"
	"net/url"
	"reflect"
	"sort"
	"strings"

	"github.com/itchyny/gojq"
)

// Kind says whose fault an adaptation failure is.
type Kind uint8

// The kinds of failure.
const (
	// KindProgram: the program failed, ran out of time or yielded a value
	// of the wrong shape or size (Turnout's configuration's fault).
	KindProgram Kind = iota
	// KindBody: the body given to the program is not valid JSON (the
	// client's fault on a request, the upstream's on an answer).
	KindBody
	// KindUnadaptable: the body cannot be adapted (not JSON, encoded, a
	// stream, over max_body) and on_unadaptable is refuse.
	KindUnadaptable
)

// Error is a failed adaptation. Nothing of the program's result is used.
type Error struct {
	Version string
	Stage   Stage
	Kind    Kind
	Err     error
}

func (e *Error) Error() string {
	return "adapting the " + string(e.Stage) + " of version " + e.Version + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// maxHeaderBytes bounds the headers a program yields.
const maxHeaderBytes = 64 << 10

// Request is a request as the request program sees it. Body is JSON, nil
// when there is none.
type Request struct {
	Method   string
	Path     string
	RawQuery string
	Header   http.Header
	Body     []byte
}

// Response is an answer as the response program sees it.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// AdaptRequest runs p (nil: nothing to do) on r and, when it succeeds,
// rewrites r with its result; on failure r is left as it was.
func (a *Adapter) AdaptRequest(ctx context.Context, p *Program, r *Request) error {
	if p == nil {
		return nil
	}
	fail := func(k Kind, err error) error {
		return &Error{Version: a.Version, Stage: StageRequest, Kind: k, Err: err}
	}
	body, err := decodeBody(r.Body)
	if err != nil {
		return fail(KindBody, err)
	}
	query, _ := url.ParseQuery(r.RawQuery)
	in := map[string]any{"method": r.Method, "path": r.Path, "query": valuesIn(query), "headers": headersIn(r.Header), "body": body}
	out, err := a.run(ctx, p, in)
	if err != nil {
		return fail(KindProgram, err)
	}
	next := *r
	var errs []error
	if v, ok := out["method"]; ok {
		s, isStr := v.(string)
		if !isStr || s == "" || strings.ContainsAny(s, " \t\r\n") {
			errs = append(errs, fmt.Errorf("method must be a non-empty string, got %s", brief(v)))
		}
		next.Method = s
	}
	if v, ok := out["path"]; ok {
		s, isStr := v.(string)
		if !isStr || !strings.HasPrefix(s, "/") {
			errs = append(errs, fmt.Errorf("path must be a string starting with /, got %s", brief(v)))
		}
		next.Path = s
	}
	if v, ok := out["query"]; ok && !reflect.DeepEqual(v, in["query"]) {
		q, err := valuesOut("query", v)
		errs = append(errs, err)
		next.RawQuery = url.Values(q).Encode()
	}
	next.Header, next.Body = a.headerAndBody(out, r.Header, r.Body, &errs)
	if err := errors.Join(errs...); err != nil {
		return fail(KindProgram, err)
	}
	*r = next
	return nil
}

// AdaptResponse runs p (nil: nothing to do) on r and, when it succeeds,
// rewrites r with its result; on failure r is left as it was.
func (a *Adapter) AdaptResponse(ctx context.Context, p *Program, r *Response) error {
	if p == nil {
		return nil
	}
	fail := func(k Kind, err error) error {
		return &Error{Version: a.Version, Stage: StageResponse, Kind: k, Err: err}
	}
	body, err := decodeBody(r.Body)
	if err != nil {
		return fail(KindBody, err)
	}
	in := map[string]any{"status": r.Status, "headers": headersIn(r.Header), "body": body}
	out, err := a.run(ctx, p, in)
	if err != nil {
		return fail(KindProgram, err)
	}
	next := *r
	var errs []error
	if v, ok := out["status"]; ok {
		n, isNum := number(v)
		if !isNum || n < 100 || n > 599 || n != math.Trunc(n) {
			errs = append(errs, fmt.Errorf("status must be a number from 100 to 599, got %s", brief(v)))
		}
		next.Status = int(n)
	}
	next.Header, next.Body = a.headerAndBody(out, r.Header, r.Body, &errs)
	if err := errors.Join(errs...); err != nil {
		return fail(KindProgram, err)
	}
	*r = next
	return nil
}

// run runs p on in and checks that it yielded an object.
func (a *Adapter) run(ctx context.Context, p *Program, in map[string]any) (map[string]any, error) {
	v, err := p.Run(ctx, in)
	if err != nil {
		return nil, err
	}
	out, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the program must yield an object like its input, got %s", brief(v))
	}
	return out, nil
}

// headerAndBody reads the headers and body of a program's result, keeping
// the input's when the result leaves them out; problems go to errs.
func (a *Adapter) headerAndBody(out map[string]any, header http.Header, body []byte, errs *[]error) (http.Header, []byte) {
	if v, ok := out["headers"]; ok {
		h, err := valuesOut("headers", v)
		*errs = append(*errs, err)
		header = http.Header{}
		size := 0
		for k, vv := range h {
			if !validHeaderName(k) {
				*errs = append(*errs, fmt.Errorf("headers: %q is not a header name", k))
				continue
			}
			for _, s := range vv {
				size += len(k) + len(s)
				if strings.ContainsAny(s, "\r\n\x00") {
					*errs = append(*errs, fmt.Errorf("headers: the value of %q holds a line break or NUL", k))
				}
			}
			header[textproto.CanonicalMIMEHeaderKey(k)] = vv
		}
		if size > maxHeaderBytes {
			*errs = append(*errs, fmt.Errorf("headers: %d bytes, more than %d", size, maxHeaderBytes))
		}
	}
	if v, ok := out["body"]; ok {
		if v == nil {
			return header, nil
		}
		b, err := gojq.Marshal(v)
		switch {
		case err != nil:
			*errs = append(*errs, fmt.Errorf("body: %w", err))
		case int64(len(b)) > a.MaxBody:
			*errs = append(*errs, fmt.Errorf("body: the program yielded %d bytes, more than max_body (%d)", len(b), a.MaxBody))
		}
		return header, b
	}
	return header, body
}

// decodeBody decodes a JSON body (nil when empty), numbers kept exact.
func decodeBody(b []byte) (any, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, nil
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("the body is not valid JSON: %w", err)
	}
	if d.More() {
		return nil, errors.New("the body is not valid JSON: more than one value")
	}
	return v, nil
}

// headersIn is header as the program sees it: lower-case names, a string
// per name or an array when repeated.
func headersIn(h http.Header) map[string]any {
	m := make(map[string]any, len(h))
	for k, vv := range h {
		m[strings.ToLower(k)] = oneOrMany(vv)
	}
	return m
}

func valuesIn(q url.Values) map[string]any {
	m := make(map[string]any, len(q))
	for k, vv := range q {
		m[k] = oneOrMany(vv)
	}
	return m
}

func oneOrMany(vv []string) any {
	if len(vv) == 1 {
		return vv[0]
	}
	out := make([]any, len(vv))
	for i, s := range vv {
		out[i] = s
	}
	return out
}

// valuesOut reads an object of name → string, number, bool or array of
// them (null drops the name).
func valuesOut(what string, v any) (map[string][]string, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s must be an object, got %s", what, brief(v))
	}
	out := make(map[string][]string, len(m))
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch x := m[k].(type) {
		case nil:
		case []any:
			for _, e := range x {
				s, ok := scalarText(e)
				if !ok {
					return nil, fmt.Errorf("%s: %q must hold strings, got %s", what, k, brief(e))
				}
				out[k] = append(out[k], s)
			}
		default:
			s, ok := scalarText(x)
			if !ok {
				return nil, fmt.Errorf("%s: %q must be a string or an array of strings, got %s", what, k, brief(x))
			}
			out[k] = []string{s}
		}
	}
	return out, nil
}

func scalarText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool, int, float64, json.Number:
		b, _ := gojq.Marshal(x)
		return string(b), true
	}
	return "", false
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case float64:
		return x, true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

// brief describes a value in an error: its jq type and a short preview.
func brief(v any) string {
	return gojq.TypeOf(v) + " " + gojq.Preview(v)
}

func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return true
}
