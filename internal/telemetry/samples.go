package telemetry

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// The samples the collectors (requestCollector, rolloutCollector) build
// when /metrics is scraped, each in one allocation, with the creation
// times the counters and histograms keep.

// stamp is a creation time in Unix nanoseconds: 8 bytes where a
// time.Time takes 24, in every counter and histogram.
type stamp int64

func stampNow() stamp { return stamp(time.Now().UnixNano()) }

// set writes the stamp to a protobuf timestamp.
func (t stamp) set(ts *timestamppb.Timestamp) {
	ts.Seconds, ts.Nanos = int64(t)/1e9, int32(int64(t)%1e9)
}

// counterSample is one counter of a scrape.
type counterSample struct {
	desc    *prometheus.Desc
	labels  [3]*dto.LabelPair
	n       int // labels used
	value   float64
	created timestamppb.Timestamp
	counter dto.Counter
}

func (s *counterSample) setCreated(t stamp) { t.set(&s.created) }

func (s *counterSample) Desc() *prometheus.Desc { return s.desc }

func (s *counterSample) Write(out *dto.Metric) error {
	s.counter.Value, s.counter.CreatedTimestamp = &s.value, &s.created
	out.Label, out.Counter = s.labels[:s.n], &s.counter
	return nil
}

// histogramSample is one duration histogram of a scrape.
type histogramSample struct {
	labels  [2]*dto.LabelPair
	count   uint64
	sum     float64
	cum     [nDurationBuckets]uint64
	buckets [nDurationBuckets]dto.Bucket
	ptrs    [nDurationBuckets]*dto.Bucket
	created timestamppb.Timestamp
	hist    dto.Histogram
}

// newHistogramSample reads h: the buckets one by one, then the sum. The
// count is the buckets' total, so it always matches the +Inf bucket.
func newHistogramSample(h *durationHist, service, version *dto.LabelPair) *histogramSample {
	s := &histogramSample{labels: [2]*dto.LabelPair{service, version}}
	var n uint64
	for i := range s.cum {
		n += h.counts[i].Load()
		s.cum[i] = n
	}
	s.count = n + h.counts[nDurationBuckets].Load()
	s.sum = float64(h.sumNs.Load()) / 1e9
	h.created.set(&s.created)
	return s
}

func (s *histogramSample) Desc() *prometheus.Desc { return durationsDesc }

func (s *histogramSample) Write(out *dto.Metric) error {
	for i := range s.buckets {
		s.buckets[i].CumulativeCount, s.buckets[i].UpperBound = &s.cum[i], &DurationBuckets[i]
		s.ptrs[i] = &s.buckets[i]
	}
	s.hist.SampleCount, s.hist.SampleSum, s.hist.Bucket, s.hist.CreatedTimestamp = &s.count, &s.sum, s.ptrs[:], &s.created
	out.Label, out.Histogram = s.labels[:], &s.hist
	return nil
}

// gaugeSample is one gauge of a scrape with a single label.
type gaugeSample struct {
	desc   *prometheus.Desc
	labels [1]*dto.LabelPair
	value  float64
	gauge  dto.Gauge
}

func (s *gaugeSample) Desc() *prometheus.Desc { return s.desc }

func (s *gaugeSample) Write(out *dto.Metric) error {
	s.gauge.Value = &s.value
	out.Label, out.Gauge = s.labels[:], &s.gauge
	return nil
}
