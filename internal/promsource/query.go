package promsource

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/prometheus/common/model"

	"github.com/turnout-gw/turnout/internal/config"
)

// kind is one of the measurements a service's queries give.
type kind int

const (
	kindRequests kind = iota
	kindErrors
	kindLatencyP95
	kindLatencyP99
	numKinds
)

// String is the measurement's key under prometheus.queries.
func (k kind) String() string {
	return [...]string{"requests", "errors", "latency_p95", "latency_p99"}[k]
}

// result is the outcome of one query: a number (ok), no data (!ok), or an
// error. used marks a query that ran.
type result struct {
	value float64
	ok    bool
	err   error
	used  bool
}

// run renders t with vars and runs it as an instant query.
func (s *service) run(ctx context.Context, t *template.Template, vars config.PromQueryVars) result {
	q, err := render(t, vars)
	if err != nil {
		return result{err: err, used: true}
	}
	v, err := s.api.query(ctx, q)
	if err != nil {
		return result{err: err, used: true}
	}
	x, ok, err := number(v)
	return result{value: x, ok: ok, err: err, used: true}
}

// render executes a query template.
func render(t *template.Template, vars config.PromQueryVars) (string, error) {
	var b strings.Builder
	if err := t.Execute(&b, vars); err != nil {
		return "", fmt.Errorf("rendering the query: %w", err)
	}
	return b.String(), nil
}

// number reads the one number a query must answer: a scalar, or an instant
// vector of at most one sample. An empty vector or NaN (a quantile of no
// observations, a ratio of nothing) is no data. More than one series, other
// result types and negative or infinite counts are errors (+Inf is allowed:
// a quantile beyond the last bucket).
func number(v model.Value) (x float64, ok bool, err error) {
	switch v := v.(type) {
	case *model.Scalar:
		x = float64(v.Value)
	case model.Vector:
		switch len(v) {
		case 0:
			return 0, false, nil
		case 1:
			x = float64(v[0].Value)
		default:
			return 0, false, fmt.Errorf("the query returned %d series (%s, ...); aggregate them into one, e.g. with sum(...)", len(v), v[0].Metric)
		}
	case nil:
		return 0, false, fmt.Errorf("the query returned nothing")
	default:
		return 0, false, fmt.Errorf("the query returned a %s; it must return one number (a scalar or a one-sample instant vector)", v.Type())
	}
	switch {
	case math.IsNaN(x):
		return 0, false, nil
	case x < 0 || math.IsInf(x, -1):
		return 0, false, fmt.Errorf("the query returned %v; a count or a latency is never negative", x)
	}
	return x, true, nil
}

// quote escapes s for use inside a double-quoted PromQL string.
func quote(s string) string {
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}

// promDuration writes d (whole milliseconds, more than 0) as a PromQL
// duration.
func promDuration(d time.Duration) string {
	return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
}
