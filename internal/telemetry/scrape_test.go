package telemetry_test

import (
	"net/http"
	"sort"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape is one parsed GET /metrics.
type scrape map[string]*dto.MetricFamily

// scrapeURL fetches url (a /metrics endpoint) and parses it with the
// Prometheus text parser.
func scrapeURL(t testing.TB, url string) scrape {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("GET %s: Content-Type %q, want the text format", url, ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing %s: %v", url, err)
	}
	return fams
}

// find returns the metric of family name whose labels are exactly labels
// ("k=v" strings), or nil.
func (s scrape) find(name string, labels ...string) *dto.Metric {
	f := s[name]
	if f == nil {
		return nil
	}
	want := append([]string(nil), labels...)
	sort.Strings(want)
	for _, m := range f.GetMetric() {
		var got []string
		for _, lp := range m.GetLabel() {
			got = append(got, lp.GetName()+"="+lp.GetValue())
		}
		sort.Strings(got)
		if strings.Join(got, ",") == strings.Join(want, ",") {
			return m
		}
	}
	return nil
}

// value returns the counter, gauge or histogram sample count of a metric,
// failing the test when it is absent.
func (s scrape) value(t testing.TB, name string, labels ...string) float64 {
	t.Helper()
	m := s.find(name, labels...)
	if m == nil {
		t.Fatalf("%s{%s} is missing; series of %s:\n%s", name, strings.Join(labels, ","), name, s.series(name))
	}
	switch {
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Histogram != nil:
		return float64(m.GetHistogram().GetSampleCount())
	}
	t.Fatalf("%s{%s} has no counter, gauge or histogram value", name, strings.Join(labels, ","))
	return 0
}

// expect asserts a value.
func (s scrape) expect(t testing.TB, want float64, name string, labels ...string) {
	t.Helper()
	if got := s.value(t, name, labels...); got != want {
		t.Errorf("%s{%s} = %v, want %v", name, strings.Join(labels, ","), got, want)
	}
}

// series lists a family's label sets, for failure messages.
func (s scrape) series(name string) string {
	var b strings.Builder
	for _, m := range s[name].GetMetric() {
		b.WriteString("  ")
		for _, lp := range m.GetLabel() {
			b.WriteString(lp.GetName() + "=" + lp.GetValue() + " ")
		}
		b.WriteString("\n")
	}
	return b.String()
}
