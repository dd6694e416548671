package live

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/turnout-gw/turnout/internal/contract"
	"github.com/turnout-gw/turnout/internal/pipeline"
)

// Bounds of a sample.
const (
	maxViolations = 10  // per sample
	maxValueLen   = 256 // bytes of a violating value's JSON
)

// validateOptions: every violation of an answer is reported; statuses the
// document does not list are not violations (errors are the error rate's
// business), nor is anything about authentication.
var validateOptions = openapi3filter.Options{MultiError: true, AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}

// process validates one answer against its check's document and records
// the outcome: the pipeline's job function, run by its workers.
func (m *Manager) process(ctx context.Context, t *tap) {
	s, c := t.svc, t.chk
	rt, params, req, ok := c.doc.find(t.method, t.path, t.query)
	if !ok {
		c.res.unmatched.Add(1)
		return
	}
	body, ok := decoded(t.header, t.Buf, s.maxBody)
	if !ok {
		c.res.tooLarge.Add(1)
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: rt},
		Status:                 t.status, Header: t.header, Options: &validateOptions,
	}
	in.SetBodyBytes(body)
	err := openapi3filter.ValidateResponse(ctx, in)
	op := operationLabel(rt.Method, rt.Path)
	now := m.o.Now()
	if err == nil {
		c.res.record(now, op, nil)
		return
	}
	req.URL.Path = t.path
	smp := Sample{At: now.UTC(), Version: c.version, ServedBy: c.servedBy, Upstream: c.upstream, Operation: op,
		Request: t.method + " " + req.URL.RequestURI(), Status: t.status, Violations: violationsOf(err)}
	c.res.record(now, op, &smp)
	if m.o.Observe != nil {
		m.o.Observe(s.name, c.version, c.upstream, op)
	}
}

// decoded returns the body as the schema describes it: a gzip-encoded
// answer decoded (up to max bytes; false when larger).
func decoded(h map[string][]string, body []byte, max int64) ([]byte, bool) {
	enc := ""
	if v := h["Content-Encoding"]; len(v) > 0 {
		enc = v[0]
	}
	if !strings.EqualFold(enc, "gzip") || len(body) == 0 {
		return body, true
	}
	out, err := pipeline.Gunzip(body, max)
	if errors.Is(err, pipeline.ErrNotGzip) {
		return body, true // validated as sent: it will not parse either
	}
	if err != nil || int64(len(out)) > max {
		return nil, false
	}
	delete(h, "Content-Encoding")
	return out, true
}

// Violation is one way an answer broke the schema.
type Violation struct {
	// Path is the JSON Pointer of the offending value in the answer's body
	// ("" for the body as a whole).
	Path string `json:"path"`
	// Schema is where the failing schema keyword is written in the
	// check's document (FILE:LINE:COL), when the loader recorded it.
	Schema string `json:"schema,omitempty"`
	// Keyword is the schema keyword that failed (type, required, enum, ...).
	Keyword string `json:"keyword,omitempty"`
	// Value is the offending value as JSON, cut to 256 bytes.
	Value   string `json:"value,omitempty"`
	Message string `json:"message"`
}

// violationsOf turns a validation error into at most maxViolations
// violations: each schema error with its place in the body and in the
// document, or the error's reason when it is not about the schema (an
// undeclared content type, a missing header, a body that does not parse).
func violationsOf(err error) []Violation {
	var out []Violation
	var walk func(error)
	walk = func(e error) {
		if len(out) == maxViolations || e == nil {
			return
		}
		var me openapi3.MultiError
		if errors.As(e, &me) {
			for _, x := range me {
				walk(x)
			}
			return
		}
		var se *openapi3.SchemaError
		if errors.As(e, &se) {
			out = append(out, schemaViolation(se))
			return
		}
		out = append(out, Violation{Message: e.Error()})
	}
	var re *openapi3filter.ResponseError
	if errors.As(err, &re) && re.Err != nil {
		walk(re.Err)
		if len(out) == 0 {
			out = append(out, Violation{Message: re.Error()})
		}
		if re.Reason != "" && !strings.HasPrefix(re.Reason, "response body doesn't match schema") {
			for i := range out {
				out[i].Message = re.Reason + ": " + out[i].Message
			}
		}
		return out
	}
	walk(err)
	return out
}

// pointerEscaper escapes a JSON Pointer segment (RFC 6901).
var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

func schemaViolation(se *openapi3.SchemaError) Violation {
	v := Violation{Keyword: se.SchemaField, Message: se.Reason}
	if p := se.JSONPointer(); len(p) > 0 {
		for _, seg := range p {
			v.Path += "/" + pointerEscaper.Replace(seg)
		}
	}
	if b, err := json.Marshal(se.Value); err == nil {
		if len(b) > maxValueLen {
			b = append(b[:maxValueLen:maxValueLen], "…"...)
		}
		v.Value = string(b)
	}
	if sc := se.Schema; sc != nil && sc.Origin != nil {
		loc, ok := sc.Origin.Fields.Lookup(se.SchemaField)
		if !ok && sc.Origin.Key != nil {
			loc, ok = *sc.Origin.Key, true
		}
		if ok && loc.File != "" {
			v.Schema = contract.Location{File: loc.File, Line: loc.Line, Column: loc.Column}.String()
		}
	}
	return v
}
