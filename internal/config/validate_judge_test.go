package config

import "testing"

// TestJudgeDecodes: judge, confidence and equal_baseline decode; judge
// defaults to threshold and confidence stays unset (the judge's 0.99).
func TestJudgeDecodes(t *testing.T) {
	const base = `
upstreams: { a: { targets: [http://127.0.0.1:9001] } }
services:
  users:
    default: v1
    versions: { v1: { upstream: a }, v2: { upstream: a } }
    rollout:
      from: v1
      to: v2
      steps: [25, 100]
      step_interval: 30s
      analysis: `
	c, err := Parse("judge.yaml", []byte(base+"{judge: statistical, confidence: 0.95, equal_baseline: true, max_error_rate: 0.2}\n"))
	if err != nil {
		t.Fatal(err)
	}
	a := c.Services["users"].Rollout.Analysis
	if a.Judge != JudgeStatistical || a.Confidence == nil || *a.Confidence != 0.95 || !a.EqualBaseline || *a.MaxErrorRate != 0.2 {
		t.Errorf("analysis = judge %q confidence %v equal_baseline %v", a.Judge, a.Confidence, a.EqualBaseline)
	}
	c, err = Parse("judge.yaml", []byte(base+"{max_error_rate: 0.05}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if a := c.Services["users"].Rollout.Analysis; a.Judge != JudgeThreshold || a.Confidence != nil || a.EqualBaseline {
		t.Errorf("defaults: judge %q confidence %v equal_baseline %v", a.Judge, a.Confidence, a.EqualBaseline)
	}
	if _, err := Parse("judge.yaml", []byte(base+"{judge: statistical, confidense: 0.9}\n")); err == nil {
		t.Error("a misspelt key decoded without a problem")
	}
}
