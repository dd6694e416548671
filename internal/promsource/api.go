package promsource

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/prometheus/common/model"
)

// maxResponse bounds the body of a query's answer: one number is a few
// hundred bytes; a query that returns every series of a big server is cut
// off rather than read whole.
const maxResponse = 1 << 20

// client runs instant queries against one Prometheus server's HTTP API.
// It is safe for concurrent use.
type client struct {
	endpoint string // .../api/v1/query
	http     *http.Client
}

func newClient(base string, hc *http.Client) (*client, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("prometheus url %q: %w", base, err)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/api/v1/query"
	if hc == nil {
		hc = http.DefaultClient
	}
	return &client{endpoint: u.String(), http: hc}, nil
}

// query runs q as an instant query evaluated at the server's current time
// (POST, form-encoded, as /api/v1/query accepts).
func (c *client) query(ctx context.Context, q string) (model.Value, error) {
	form := url.Values{"query": {q}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return nil, fmt.Errorf("reading the answer: %w", err)
	}
	if len(body) > maxResponse {
		return nil, fmt.Errorf("the answer is larger than %d bytes", maxResponse)
	}
	return parseResponse(resp.StatusCode, body)
}

// apiResponse is the envelope of every /api/v1 answer.
type apiResponse struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
	Data      struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	} `json:"data"`
}

// parseResponse reads an /api/v1/query answer: the result of a successful
// query, or the server's error (Prometheus answers 400, 422 and 503 with an
// error envelope). Results other than vectors and scalars are reported by
// type only, with no value.
func parseResponse(code int, body []byte) (model.Value, error) {
	var r apiResponse
	if err := json.Unmarshal(body, &r); err != nil {
		if code/100 != 2 {
			return nil, fmt.Errorf("prometheus answered %d %s", code, http.StatusText(code))
		}
		return nil, fmt.Errorf("the answer is not a Prometheus API response: %w", err)
	}
	if r.Status != "success" {
		if r.Error == "" {
			return nil, fmt.Errorf("prometheus answered %d with status %q", code, r.Status)
		}
		return nil, fmt.Errorf("prometheus: %s: %s", r.ErrorType, r.Error)
	}
	switch r.Data.ResultType {
	case "vector":
		var v model.Vector
		if err := json.Unmarshal(r.Data.Result, &v); err != nil {
			return nil, fmt.Errorf("reading the vector: %w", err)
		}
		return v, nil
	case "scalar":
		var s model.Scalar
		if err := json.Unmarshal(r.Data.Result, &s); err != nil {
			return nil, fmt.Errorf("reading the scalar: %w", err)
		}
		return &s, nil
	case "matrix":
		return model.Matrix{}, nil
	case "string":
		return &model.String{}, nil
	}
	return nil, fmt.Errorf("the answer has result type %q", r.Data.ResultType)
}
