package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/rollout"
)

// TestStatusShowsJudgedChecks: `turnout status SERVICE` prints a
// statistical check with both versions' values, its p-value, effect and
// sample sizes, not as a value against a threshold.
func TestStatusShowsJudgedChecks(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	base := 0.02
	s := rollout.Status{Service: "users", From: "v1", To: "v2", LastAnalysis: &rollout.Analysis{At: at, Result: rollout.ResultFail,
		Checks: []rollout.Check{{Name: "error_rate (statistical)", Value: 0.1, Threshold: 0.01, Baseline: &base, Unit: "ratio",
			Judgement: &rollout.Judgement{Test: "two-proportion mSPRT", Outcome: "worse", PValue: 0.004, LikelihoodRatio: 250,
				Effect: 0.08, NTo: 300, NFrom: 310, Confidence: 0.99}}}}}
	var b bytes.Buffer
	writeAnalysis(&b, s, at)
	want := "error_rate (statistical):  0.1000 (v1: 0.0200), p 0.004 at 0.99 confidence, effect +0.0800, n 300/310  FAIL"
	if !strings.Contains(b.String(), want) {
		t.Errorf("status:\n%s\nwant a line with %q", b.String(), want)
	}
}
