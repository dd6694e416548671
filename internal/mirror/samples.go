package mirror

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/turnout-gw/turnout/internal/mirror/compare"
	"github.com/turnout-gw/turnout/internal/pipeline"
	"github.com/turnout-gw/turnout/internal/store"
)

// SamplesBucket is the store bucket of the sample rings, one record per
// service.
const SamplesBucket = "mirror.samples"

// Caps of one sample.
const (
	maxSampleDiffs = 10
	maxDiffValue   = 256
)

// Sample is one recent comparison that differed: what was asked, where the
// answers differ and both answers (truncated).
type Sample struct {
	At       time.Time `json:"at"`
	Endpoint string    `json:"endpoint"`
	// Request is the request line: method and path with query.
	Request string         `json:"request"`
	TraceID string         `json:"trace_id,omitempty"`
	Paths   []string       `json:"paths"`
	Diffs   []compare.Diff `json:"diffs"`
	// Primary and Candidate are the answers of the version that served the
	// client and of the mirror's version.
	Primary   SampleResponse `json:"primary"`
	Candidate SampleResponse `json:"candidate"`
}

// SampleResponse is one answer of a Sample.
type SampleResponse struct {
	Version     string `json:"version"`
	Status      int    `json:"status"`
	ContentType string `json:"content_type,omitempty"`
	Body        string `json:"body"`
	// Truncated is set when Body is not the whole answer.
	Truncated bool `json:"truncated,omitempty"`
}

func newSample(now time.Time, t *tap, primary, cand *compare.Response, diffs []compare.Diff, bodyMax int) *Sample {
	req := t.method + " " + t.path
	if t.query != "" {
		req += "?" + t.query
	}
	s := &Sample{At: now.UTC(), Endpoint: t.endpoint, Request: req, TraceID: t.traceID,
		Primary:   sampleResponse(t.served.Name, primary, bodyMax),
		Candidate: sampleResponse(t.svc.to, cand, bodyMax)}
	for i, d := range diffs {
		s.Paths = append(s.Paths, d.Path)
		if i < maxSampleDiffs {
			s.Diffs = append(s.Diffs, compare.Diff{Path: d.Path, Primary: cut(d.Primary, maxDiffValue), Candidate: cut(d.Candidate, maxDiffValue)})
		}
	}
	return s
}

func sampleResponse(version string, r *compare.Response, max int) SampleResponse {
	body := cut(string(r.Body), max)
	return SampleResponse{Version: version, Status: r.Status, ContentType: r.Header.Get("Content-Type"),
		Body: body, Truncated: r.Truncated || len(body) < len(r.Body)}
}

// cut shortens s to at most n bytes, without splitting a character.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for i := 0; i < utf8.UTFMax && len(s) > 0; i++ {
		if r, size := utf8.DecodeLastRuneInString(s); r != utf8.RuneError || size != 1 {
			break
		}
		s = s[:len(s)-1]
	}
	return s
}

// persisted is the stored form of a ring.
type persisted struct {
	Samples []Sample `json:"samples"` // oldest first
}

// encodeSamples encodes samples (newest first) oldest first, dropping the
// oldest until the record fits a store blob.
func encodeSamples(newest []Sample) ([]byte, error) {
	for {
		p := persisted{Samples: make([]Sample, 0, len(newest))}
		for i := len(newest) - 1; i >= 0; i-- {
			p.Samples = append(p.Samples, newest[i])
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(p); err != nil {
			return nil, fmt.Errorf("encoding samples: %w", err)
		}
		if buf.Len() <= store.MaxBlobSize || len(newest) == 0 {
			return buf.Bytes(), nil
		}
		newest = newest[:len(newest)*3/4]
	}
}

// loadSamples reads a service's ring back from the store.
func (m *Manager) loadSamples(s *service) {
	if m.o.Store == nil {
		return
	}
	b, ok, err := m.o.Store.GetBlob(SamplesBucket, s.name)
	if err != nil {
		m.log.Warn("mirror: reading stored samples", "service", s.name, "error", err)
		return
	}
	if !ok {
		return
	}
	var p persisted
	if err := json.Unmarshal(b, &p); err != nil {
		m.log.Warn("mirror: stored samples unreadable; starting afresh", "service", s.name, "error", err)
		return
	}
	s.res.With(func(_ *tally, ring *pipeline.Ring[Sample]) {
		for _, smp := range p.Samples {
			ring.Push(smp)
		}
		ring.Changed()
	})
}

// flush writes a service's ring to the store when it changed.
func (m *Manager) flush(s *service) {
	if m.o.Store == nil {
		return
	}
	var list []Sample
	s.res.With(func(_ *tally, ring *pipeline.Ring[Sample]) {
		if ring.Changed() {
			list = ring.List(ring.Cap())
		}
	})
	if list == nil {
		return
	}
	b, err := encodeSamples(list)
	if err == nil {
		err = m.o.Store.PutBlob(SamplesBucket, s.name, b)
	}
	if err != nil {
		m.log.Warn("mirror: storing samples", "service", s.name, "error", err)
	}
}

// flushAll writes every changed ring; the pipeline runs it every second
// and at Close.
func (m *Manager) flushAll() {
	for _, s := range *m.services.Load() {
		m.flush(s)
	}
}
